# Spot jobs whose instances are interrupted are relaunched by whichever session waits for them, counting attempts
# from the instances' tags: a job saved with Export-Clixml in the middle of its retries finishes in a later session.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestCloud.psm1') -Force
    $script:Cloud = Start-TestCloud

    function script:Start-SavedJob($Workspace, [string] $Saved) {
        # The seed pipeline in a session of its own, its job saved with Export-Clixml; returns the job's bucket.
        $run = Invoke-FreshPwsh -WorkingDirectory $Workspace.FullName -ArgumentList $Saved -Script @'
param($Saved)
Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Export-Clixml $Saved
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        (Import-Clixml $Saved).BucketName
    }

    function script:Stop-JobInstance([string] $Bucket) {
        # An interruption from outside: EC2 reclaiming a Spot instance, as the aws CLI does it here.
        for ($i = 0; $i -lt 100; $i++) {
            $live = @(Get-CloudInstance $Cloud | Where-Object { $_.Tags['femag-aws:bucket'] -eq $Bucket -and $_.State -eq 'running' })
            if ($live) { break }
            Start-Sleep -Milliseconds 200
        }
        $live | Should -HaveCount 1 -Because "a running instance of bucket $Bucket is needed to interrupt"
        aws --endpoint-url $Cloud.Endpoint --region eu-central-1 ec2 terminate-instances --instance-ids $live[0].InstanceId | Out-Null
        $live[0].InstanceId
    }
}

AfterAll {
    Stop-CloudInstance $script:Cloud
    Stop-TestCloud $script:Cloud
}

Describe 'A Spot job interrupted across sessions' {
    It 'is relaunched by each session that waits for it and succeeds on attempt 3 with complete results' {
        $ws = New-TestWorkspace $Cloud -Fsl "-- model 0`n-- fake-femag: sleep 12" -Extra "spot = 1`nmax_attempts = 3" -DeleteBuckets 0
        $saved = Join-Path $ws 'jobs.xml'

        # Session 1 starts the job and saves it; then its instance is interrupted.
        $bucket = Start-SavedJob $ws $saved
        $first = Stop-JobInstance $bucket

        # Session 2 relaunches it (attempt 2) and stops waiting before it finishes, saving it again.
        $run = Invoke-FreshPwsh -ArgumentList $saved -Script @'
param($Saved)
# Read first: Export-Clixml empties the file it writes before the pipeline's first job.
$jobs = Import-Clixml $Saved
$jobs | Wait-FemagJob -PollInterval 1 -Timeout 6 -WarningAction SilentlyContinue | Export-Clixml $Saved
$job = Import-Clixml $Saved
"AFTER2 $($job.State) $($job.Attempt) $($job.Lifecycle)"
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output | Should -Contain 'AFTER2 TimedOut 2 spot'
        $second = Stop-JobInstance $bucket
        $second | Should -Not -Be $first

        # Session 3 reads the job back mid-retries, relaunches it once more and receives the results.
        $run = Invoke-FreshPwsh -ArgumentList $saved -Script @'
param($Saved)
$job = Import-Clixml $Saved | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120 | Receive-FemagResult
"DONE $($job.State) $($job.Attempt) $($job.Lifecycle) $($job.Losses.Count)"
$job | Format-List | Out-String -Width 120
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output | Should -Contain 'DONE Succeeded 3 spot 2'
        $run.Text | Should -Match '(?m)^Lifecycle +: spot'
        $run.Text | Should -Match '(?m)^Attempt +: 3'
        $instances = @(Get-CloudInstance $Cloud | Where-Object { $_.Tags['femag-aws:bucket'] -eq $bucket })
        $instances | Should -HaveCount 3
        ($instances.Tags | ForEach-Object { $_['femag-aws:attempt'] } | Sort-Object) -join ',' | Should -Be '1,2,3'
        Join-Path $ws 'parvar/0/femag.log' | Should -Exist
        Get-Content (Join-Path $ws 'parvar/0/exit_code') | Should -Be '0'
    }

    It 'follows the instance another session relaunched when the same saved file is read again, and launches no third one' {
        $ws = New-TestWorkspace $Cloud -Fsl "-- model 0`n-- fake-femag: sleep 12" -Extra "spot = 1`nmax_attempts = 3" -DeleteBuckets 0
        $saved = Join-Path $ws 'jobs.xml'
        $bucket = Start-SavedJob $ws $saved
        Stop-JobInstance $bucket | Out-Null

        # A scheduled task's runs all read the file the first run wrote: the second one relaunches the job and times out.
        $wait = @'
param($Saved, $Timeout)
$job = Import-Clixml $Saved | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout $Timeout -WarningAction SilentlyContinue
if ($job.State -eq 'Succeeded') { $job | Receive-FemagResult | Out-Null }
"RESULT $($job.State) $($job.Attempt) $($job.Losses.Count)"
'@
        $run = Invoke-FreshPwsh -ArgumentList $saved, 6 -Script $wait
        $run.Output | Should -Contain 'RESULT TimedOut 2 1' -Because $run.Text
        $run = Invoke-FreshPwsh -ArgumentList $saved, 120 -Script $wait
        $run.Output | Should -Contain 'RESULT Succeeded 2 1' -Because $run.Text

        @(Get-CloudInstance $Cloud | Where-Object { $_.Tags['femag-aws:bucket'] -eq $bucket }) | Should -HaveCount 2
        Get-Content (Join-Path $ws 'parvar/0/exit_code') | Should -Be '0'
        Join-Path $ws 'parvar/0/femag.log' | Should -Exist
    }

    It 'is found again by Get-FemagJob after an interruption, Wait-FemagJob relaunches it, and Get-FemagJob then knows the loss' {
        $ws = New-TestWorkspace $Cloud -Fsl "-- model 0`n-- fake-femag: sleep 8" -Extra 'spot = 1' -DeleteBuckets 0
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | ForEach-Object { "BUCKET $($_.BucketName)" }
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $bucket = ($run.Output | Where-Object { $_ -like 'BUCKET *' }) -replace '^BUCKET '
        $first = Stop-JobInstance $bucket

        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -ArgumentList $bucket -Script @'
param($Bucket)
$found = Get-FemagJob -ConfigFile config.ini | Where-Object BucketName -eq $Bucket
"FOUND $($found.State) $($found.Attempt) $($found.Lifecycle) $($found.Losses.Count)"
$job = $found | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120
"DONE $($job.State) $($job.Attempt)"
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output | Should -Contain 'FOUND Running 1 spot 0'
        $run.Output | Should -Contain 'DONE Succeeded 2'

        # Another session rebuilds the finished job with the history of its attempts from the bucket's instances.
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -ArgumentList $bucket -Script @'
param($Bucket)
$again = Get-FemagJob -ConfigFile config.ini | Where-Object BucketName -eq $Bucket
"AGAIN $($again.State) $($again.Attempt) $($again.Losses.Count)"
$again.Losses
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output | Should -Contain 'AGAIN Succeeded 2 1'
        @($run.Output -match "^attempt 1: Instance $first ended \(terminated.*\) without writing exit_code\.$") | Should -HaveCount 1 -Because $run.Text
    }
}
