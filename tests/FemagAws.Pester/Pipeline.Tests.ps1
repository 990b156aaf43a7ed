# What users type, each in a fresh pwsh process against a local cloud: the seed's pipeline, a scheduled task in
# two runs, background jobs and parallel runs.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestCloud.psm1') -Force
    $script:Cloud = Start-TestCloud
}

AfterAll {
    Stop-TestCloud $script:Cloud
}

Describe 'The pipeline in pwsh' {
    AfterEach {
        Stop-CloudInstance $script:Cloud
    }

    It "runs the seed's command word for word, then Receive-FemagResult" {
        $ws = New-TestWorkspace $Cloud -Fsl '-- model 0', "-- model 1`n-- fake-femag: exit 3"
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$jobs = Get-ChildItem parvar | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Wait-FemagJob -PollInterval 1 -SettleTime 1
$jobs | Receive-FemagResult | Sort-Object Index | ForEach-Object { "JOB $($_.Index) $($_.State) $($_.ExitCode)" }
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output | Should -Contain 'JOB 0 Succeeded 0'
        $run.Output | Should -Contain 'JOB 1 Failed 3'
        Get-Content (Join-Path $ws 'parvar/0/exit_code') | Should -Be '0'
        Get-Content (Join-Path $ws 'parvar/1/exit_code') | Should -Be '3'
        Join-Path $ws 'parvar/0/femag.log' | Should -Exist
        # delete_buckets = 1: nothing of the run is left in the account.
        Get-CloudBucket $Cloud | Should -BeNullOrEmpty
        Get-CloudInstance $Cloud | Where-Object State -ne 'terminated' | Should -BeNullOrEmpty
    }

    It 'goes on in a scheduled task: Export-Clixml in one pwsh -File run, Import-Clixml in another working directory' {
        $ws = New-TestWorkspace $Cloud -Fsl "-- model 0`n-- fake-femag: sleep 10", "-- model 1`n-- fake-femag: sleep 10"
        $first = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -ArgumentList (Join-Path $ws 'jobs.xml') -Script @'
param($JobsFile)
$ErrorActionPreference = 'Stop'
Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Export-Clixml $JobsFile
'@
        $first.ExitCode | Should -Be 0 -Because $first.Text
        # Launched by the first run; whether they still run or already finished, the second run takes them from here.
        $buckets = (Import-Clixml (Join-Path $ws 'jobs.xml')).BucketName
        $buckets | Should -HaveCount 2
        @(Get-CloudInstance $Cloud | Where-Object { $_.Tags['femag-aws:bucket'] -in $buckets }) | Should -HaveCount 2

        $elsewhere = New-TemporaryDirectory
        $second = Invoke-FreshPwsh -WorkingDirectory $elsewhere -ArgumentList (Join-Path $ws 'jobs.xml') -Script @'
param($JobsFile)
$ErrorActionPreference = 'Stop'
Import-Clixml $JobsFile | Wait-FemagJob -PollInterval 1 -SettleTime 1 | Receive-FemagResult |
    Sort-Object Index | ForEach-Object { "JOB $($_.Index) $($_.State) $($_.Folder)" }
'@
        $second.ExitCode | Should -Be 0 -Because $second.Text
        $second.Output | Should -Contain "JOB 0 Succeeded $(Join-Path $ws 'parvar/0')"
        $second.Output | Should -Contain "JOB 1 Succeeded $(Join-Path $ws 'parvar/1')"
        Join-Path $ws 'parvar/1/femag.log' | Should -Exist
        Get-ChildItem $elsewhere | Should -BeNullOrEmpty -Because 'results go to the jobs'' folders, not the working directory'
        Get-CloudBucket $Cloud | Should -BeNullOrEmpty
    }

    It 'runs the pipeline in Start-ThreadJob' {
        $ws = New-TestWorkspace $Cloud
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$config = Join-Path $PWD 'config.ini'
$parvar = Join-Path $PWD 'parvar'
$job = Start-ThreadJob {
    Get-ChildItem $using:parvar -Directory | New-FemagBucket -ConfigFile $using:config |
        Start-FemagInstance | Wait-FemagJob -PollInterval 1 -SettleTime 1 | Receive-FemagResult
}
$job | Wait-Job -Timeout 240 | Receive-Job | Sort-Object Index | ForEach-Object { "JOB $($_.Index) $($_.State)" }
"THREADJOB $($job.State)"
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output | Should -Contain 'JOB 0 Succeeded'
        $run.Output | Should -Contain 'JOB 1 Succeeded'
        $run.Output | Should -Contain 'THREADJOB Completed'
        Join-Path $ws 'parvar/1/exit_code' | Should -Exist
    }

    It 'runs one pipeline per folder in ForEach-Object -Parallel' {
        $ws = New-TestWorkspace $Cloud -Fsl '-- model 0', '-- model 1', '-- model 2'
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$config = Join-Path $PWD 'config.ini'
Get-ChildItem parvar -Directory | ForEach-Object -ThrottleLimit 3 -Parallel {
    $_ | New-FemagBucket -ConfigFile $using:config | Start-FemagInstance |
        Wait-FemagJob -PollInterval 1 -SettleTime 1 | Receive-FemagResult
} | Sort-Object { $_.Folder } | ForEach-Object { "JOB $(Split-Path -Leaf $_.Folder) $($_.State)" }
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        # Each runspace's job has index 0 (its own variation of one); the folders tell them apart.
        $run.Output | Should -Contain 'JOB 0 Succeeded'
        $run.Output | Should -Contain 'JOB 1 Succeeded'
        $run.Output | Should -Contain 'JOB 2 Succeeded'
        foreach ($i in 0..2) { Join-Path $ws "parvar/$i/femag.log" | Should -Exist }
    }
}
