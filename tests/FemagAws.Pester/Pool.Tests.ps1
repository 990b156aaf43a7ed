# A worker pool (pool_size, slots_per_instance) as a user sees it: the unchanged pipeline, against the local cloud.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestCloud.psm1') -Force
    $script:Cloud = Start-TestCloud

    # The module's queues and pool instances as the aws CLI sees them, to show nothing is left behind.
    function Get-PoolQueue {
        (aws --endpoint-url $Cloud.Endpoint --region eu-central-1 sqs list-queues --queue-name-prefix femag-aws-pool- --output json | ConvertFrom-Json).QueueUrls
    }

    function Get-PoolInstance {
        @(Get-CloudInstance $Cloud | Where-Object { $_.Tags['femag-aws:pool'] })
    }

    $script:Pipeline = @'
$ErrorActionPreference = 'Stop'
Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Wait-FemagJob -PollInterval 0.5 -SettleTime 1 |
    Receive-FemagResult | ForEach-Object { "JOB $($_.Index) $($_.State) attempt=$($_.Attempt) pool=$($_.PoolId) reason=$($_.Reason -replace "`n", ' | ')" }
'@
}

AfterAll {
    Stop-CloudInstance $script:Cloud
    Stop-TestCloud $script:Cloud
}

Describe 'A worker pool' {
    It 'runs the seed script for 5 jobs on 2 instances of 2 slots, and leaves no instance and no queue' {
        $ws = New-TestWorkspace $Cloud -Fsl @(0..4 | ForEach-Object { "-- model $_`n-- fake-femag: sleep 2" }) -Extra "pool_size = 2`nslots_per_instance = 2"
        $before = @(Get-PoolInstance).Count

        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script $Pipeline

        $run.ExitCode | Should -Be 0 -Because $run.Text
        @($run.Output -match '^JOB \d Succeeded attempt=1 pool=p\d{14}-[0-9a-f]{8} ').Count | Should -Be 5 -Because $run.Text
        @($run.Output -match '^JOB ' | ForEach-Object { ($_ -split ' ')[4] } | Sort-Object -Unique).Count | Should -Be 1
        foreach ($i in 0..4) {
            Get-Content (Join-Path $ws "parvar/$i/exit_code") | Should -Be '0'
            Join-Path $ws "parvar/$i/femag.log" | Should -Exist
            Join-Path $ws "parvar/$i/femag-aws/job.log" | Should -Exist
            Join-Path $ws "parvar/$i/femag-aws/taken" | Should -Not -Exist
        }
        $pool = @(Get-PoolInstance)
        ($pool.Count - $before) | Should -BeLessOrEqual 2
        @($pool | Where-Object State -NotIn 'terminated', 'shutting-down') | Should -BeNullOrEmpty
        Get-PoolQueue | Should -BeNullOrEmpty
    }

    It 'runs the job of a reclaimed instance again on another, as attempt 2' {
        $ws = New-TestWorkspace $Cloud -Fsl @(0..2 | ForEach-Object { "-- model $_`n-- fake-femag: sleep 6" }) -Extra "pool_size = 2`nslots_per_instance = 2"
        $known = @(Get-PoolInstance | ForEach-Object InstanceId)
        $started = Start-FreshPwsh -WorkingDirectory $ws.FullName -Script $Pipeline

        # Terminate the first pool instance as soon as it has taken a job, as a Spot reclaim would.
        $victim = $null
        $deadline = (Get-Date).AddSeconds(120)
        while (-not $victim -and (Get-Date) -lt $deadline) {
            Start-Sleep -Milliseconds 500
            foreach ($instance in Get-PoolInstance | Where-Object { $_.InstanceId -notin $known -and $_.State -eq 'running' }) {
                if (Get-ChildItem -Path (Join-Path $Cloud.Sandbox "$($instance.InstanceId)/home/femag-jobs") -Directory -ErrorAction Ignore | Where-Object Name -NotLike '.*') {
                    $victim = $instance.InstanceId
                    break
                }
            }
        }
        $victim | Should -Not -BeNullOrEmpty
        aws --endpoint-url $Cloud.Endpoint --region eu-central-1 ec2 terminate-instances --instance-ids $victim | Out-Null

        $run = Wait-FreshPwsh $started
        $run.ExitCode | Should -Be 0 -Because $run.Text
        @($run.Output -match '^JOB \d Succeeded ').Count | Should -Be 3 -Because $run.Text
        @($run.Output -match '^JOB \d Succeeded attempt=2 ').Count | Should -BeGreaterOrEqual 1 -Because $run.Text
        @(Get-PoolInstance | Where-Object State -NotIn 'terminated', 'shutting-down') | Should -BeNullOrEmpty
        Get-PoolQueue | Should -BeNullOrEmpty
    }

    It 'fails a job whose script dies early at once, with its exit status and last lines' {
        $ws = New-TestWorkspace $Cloud -Fsl '-- model 0' -Extra "pool_size = 1"
        Set-Content -LiteralPath (Join-Path $ws 'cloud_init.txt') -Value "#!/bin/bash`n{{ENV}}`necho preparing the model`necho 'cannot find libquadmath' >&2`nexit 7"

        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script $Pipeline

        $run.ExitCode | Should -Be 0 -Because $run.Text
        $job = $run.Output -match '^JOB 0 '
        $job | Should -BeLike '*JOB 0 Failed attempt=1 *' -Because $run.Text
        $job | Should -BeLike '*exit status 7*'
        $job | Should -BeLike '*preparing the model | cannot find libquadmath*'
        Get-PoolQueue | Should -BeNullOrEmpty
    }

    It 'ends only the job whose script calls shutdown' {
        $ws = New-TestWorkspace $Cloud -Fsl @("-- model 0`n-- fake-femag: halt", "-- model 1`n-- fake-femag: sleep 3") -Extra "pool_size = 1`nslots_per_instance = 2"

        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script $Pipeline

        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output -match '^JOB 0 ' | Should -BeLike '*JOB 0 Failed attempt=1 *called shutdown*' -Because $run.Text
        $run.Output -match '^JOB 1 ' | Should -BeLike 'JOB 1 Succeeded attempt=1 *' -Because $run.Text
        Get-PoolQueue | Should -BeNullOrEmpty
    }

    It 'is saved with Export-Clixml and waited for in a new session' {
        $ws = New-TestWorkspace $Cloud -Fsl @(0..2 | ForEach-Object { "-- model $_`n-- fake-femag: sleep 2" }) -Extra "pool_size = 2`nslots_per_instance = 2"

        $start = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$ErrorActionPreference = 'Stop'
Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Export-Clixml jobs.xml
'@
        $start.ExitCode | Should -Be 0 -Because $start.Text
        $resume = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$ErrorActionPreference = 'Stop'
Import-Clixml jobs.xml | ForEach-Object { "SAVED $($_.Index) $($_.State) pool=$($_.PoolId)" }
Import-Clixml jobs.xml | Wait-FemagJob -PollInterval 0.5 -SettleTime 1 | Receive-FemagResult | ForEach-Object { "JOB $($_.Index) $($_.State)" }
'@

        $resume.ExitCode | Should -Be 0 -Because $resume.Text
        @($resume.Output -match '^SAVED \d Queued pool=p\d{14}-[0-9a-f]{8}$').Count | Should -Be 3 -Because $resume.Text
        @($resume.Output -match '^JOB \d Succeeded$').Count | Should -Be 3 -Because $resume.Text
        @(Get-PoolInstance | Where-Object State -NotIn 'terminated', 'shutting-down') | Should -BeNullOrEmpty
        Get-PoolQueue | Should -BeNullOrEmpty
    }

    It 'is cleaned up after a crash with Get-FemagJob | Stop-FemagInstance, its queue included' {
        $ws = New-TestWorkspace $Cloud -Fsl @(0..2 | ForEach-Object { "-- model $_`n-- fake-femag: sleep 60" }) -Extra "pool_size = 2`nslots_per_instance = 1"

        $start = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$ErrorActionPreference = 'Stop'
Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Out-Null
'@
        $start.ExitCode | Should -Be 0 -Because $start.Text
        @(Get-PoolInstance | Where-Object State -NotIn 'terminated', 'shutting-down').Count | Should -Be 2
        Get-PoolQueue | Should -Not -BeNullOrEmpty

        $stop = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Environment @{ ENDPOINT = $Cloud.Endpoint } -Script @'
$ErrorActionPreference = 'Stop'
Get-FemagJob -Region eu-central-1 -EndpointUrl $env:ENDPOINT | Where-Object PoolId | Stop-FemagInstance -PassThru | ForEach-Object { "STOPPED $($_.Index) $($_.State) $($_.Reason)" }
'@

        $stop.ExitCode | Should -Be 0 -Because $stop.Text
        @($stop.Output -match '^STOPPED \d Failed Withdrawn by Stop-FemagInstance').Count | Should -Be 3 -Because $stop.Text
        @(Get-PoolInstance | Where-Object State -NotIn 'terminated', 'shutting-down') | Should -BeNullOrEmpty
        Get-PoolQueue | Should -BeNullOrEmpty
    }
}
