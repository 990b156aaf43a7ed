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

Describe 'A worker pool with the options of single jobs' {
    BeforeAll {
        function Get-Marker([string] $Bucket, [string] $Name) {
            $text = aws --endpoint-url $Cloud.Endpoint --region eu-central-1 s3 cp "s3://$Bucket/femag-aws/$Name" - 2>$null
            if ($LASTEXITCODE) { $null } else { $text -join "`n" }
        }

        # Every pool instance's type and lifecycle as EC2 describes them.
        function Get-PoolInstanceLaunch {
            $json = aws --endpoint-url $Cloud.Endpoint --region eu-central-1 ec2 describe-instances --filters Name=tag-key,Values=femag-aws:pool --output json | ConvertFrom-Json
            foreach ($instance in $json.Reservations.Instances) {
                [pscustomobject]@{ InstanceId = $instance.InstanceId; InstanceType = $instance.InstanceType; Lifecycle = "$($instance.InstanceLifecycle)" }
            }
        }
    }

    It 'creates no queue, sends nothing and launches nothing with -WhatIf' {
        $ws = New-TestWorkspace $Cloud -Fsl '-- model 0', '-- model 1'
        $instances = @(Get-PoolInstance).Count
        $queues = @(Get-PoolQueue)

        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$ErrorActionPreference = 'Stop'
$jobs = Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini
$jobs | Start-FemagInstance -PoolSize 2 -WhatIf
$jobs | ForEach-Object { "BUCKET $($_.BucketName) $($_.State) pool=$($_.PoolId)" }
'@

        $run.ExitCode | Should -Be 0 -Because $run.Text
        @($run.Output -match '^What if: .*"Send job to pool queue".*a job in a pool of up to 2 ').Count | Should -Be 2 -Because $run.Text
        @($run.Output -match '^BUCKET \S+ Uploaded pool=$').Count | Should -Be 2 -Because $run.Text
        @(Get-PoolInstance).Count | Should -Be $instances
        @(Get-PoolQueue) | Should -Be $queues
        foreach ($bucket in $run.Output -match '^BUCKET ' | ForEach-Object { ($_ -split ' ')[1] }) {
            $tags = aws --endpoint-url $Cloud.Endpoint --region eu-central-1 s3api get-bucket-tagging --bucket $bucket --output json | ConvertFrom-Json
            $tags.TagSet.Key | Should -Not -Contain 'femag-aws:pool' -Because 'nothing was sent to a pool'
        }
    }

    It 'withdraws a running job with Stop-FemagInstance: its worker ends it within a poll, and the last job stopped removes the pool' {
        $ws = New-TestWorkspace $Cloud -Fsl @(0..1 | ForEach-Object { "-- model $_`n-- fake-femag: sleep 120" }) -Extra "pool_size = 1`nslots_per_instance = 2"
        $known = @(Get-PoolInstance | ForEach-Object InstanceId)
        $queues = @(Get-PoolQueue)
        $start = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$ErrorActionPreference = 'Stop'
Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Export-Clixml jobs.xml
'@
        $start.ExitCode | Should -Be 0 -Because $start.Text
        $buckets = @(Import-Clixml (Join-Path $ws 'jobs.xml') | Sort-Object Index | ForEach-Object BucketName)
        $deadline = (Get-Date).AddSeconds(120)
        while ((Get-Date) -lt $deadline -and @($buckets | Where-Object { Get-Marker $_ taken }).Count -lt 2) { Start-Sleep 1 }
        @($buckets | Where-Object { Get-Marker $_ taken }).Count | Should -Be 2 -Because 'both jobs run before one is stopped'

        $stop = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$ErrorActionPreference = 'Stop'
Import-Clixml jobs.xml | Where-Object Index -EQ 0 | Stop-FemagInstance -PassThru | ForEach-Object { "STOPPED $($_.Index) $($_.State) $($_.Reason)" }
'@
        $stopped = Get-Date
        $stop.ExitCode | Should -Be 0 -Because $stop.Text
        $stop.Output -match '^STOPPED ' | Should -BeLike 'STOPPED 0 Failed Withdrawn by Stop-FemagInstance*' -Because $stop.Text

        # The worker looks for femag-aws/withdrawn at each heartbeat (10 s) and ends the job; the margin is for a
        # loaded machine, where each aws CLI call of the worker takes seconds. Had it run on, why would say exit.
        while ((Get-Date) -lt $stopped.AddSeconds(90) -and -not ($ended = Get-Marker $buckets[0] ended)) { Start-Sleep 1 }
        $ended | Should -Match '(?m)^why=withdrawn$'
        $ended | Should -Match '(?m)^finish=no$'
        Get-Marker $buckets[1] ended | Should -BeNullOrEmpty -Because 'the other job runs on'
        @(Get-PoolInstance | Where-Object { $_.InstanceId -notin $known -and $_.State -eq 'running' }).Count | Should -Be 1 -Because 'the pool still has a job'
        Get-PoolQueue | Where-Object { $_ -notin $queues } | Should -Not -BeNullOrEmpty

        $last = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$ErrorActionPreference = 'Stop'
Import-Clixml jobs.xml | Where-Object Index -EQ 1 | Stop-FemagInstance
Get-FemagJob -ConfigFile config.ini | Where-Object BucketName -in (Import-Clixml jobs.xml).BucketName | ForEach-Object { "JOB $($_.Index) $($_.State) $($_.Reason)" }
'@
        $last.ExitCode | Should -Be 0 -Because $last.Text
        @($last.Output -match '^JOB \d Failed Withdrawn by Stop-FemagInstance').Count | Should -Be 2 -Because $last.Text
        @(Get-PoolInstance | Where-Object { $_.InstanceId -notin $known -and $_.State -notin 'terminated', 'shutting-down' }) | Should -BeNullOrEmpty
        Get-PoolQueue | Where-Object { $_ -notin $queues } | Should -BeNullOrEmpty
    }

    It 'launches Spot instances of the first instance_type, and ends a job over max_runtime while the others succeed' {
        $ws = New-TestWorkspace $Cloud -Fsl @("-- model 0`n-- fake-femag: sleep 60", "-- model 1", "-- model 2") `
            -Extra "pool_size = 1`nslots_per_instance = 3`nspot = 1`nmax_runtime = 0.2"
        $config = Join-Path $ws 'config.ini'
        (Get-Content $config) -replace '^instance_type = .*$', 'instance_type = t2.small,t3.small' | Set-Content $config
        $known = @(Get-PoolInstance | ForEach-Object InstanceId)
        $queues = @(Get-PoolQueue)

        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$ErrorActionPreference = 'Stop'
Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Wait-FemagJob -PollInterval 0.5 -SettleTime 1 |
    ForEach-Object { "JOB $($_.Index) $($_.State) $($_.InstanceType) $($_.Lifecycle) $($_.InstanceId) reason=$($_.Reason -replace "`n", ' | ')" }
'@

        $run.ExitCode | Should -Be 0 -Because $run.Text
        $launches = @(Get-PoolInstanceLaunch | Where-Object InstanceId -NotIn $known)
        $launches.Count | Should -Be 1
        $launches[0].InstanceType | Should -Be 't2.small'
        $launches[0].Lifecycle | Should -Be 'spot'
        $run.Output -match '^JOB 0 ' | Should -BeLike "JOB 0 Failed t2.small spot $($launches[0].InstanceId) reason=*max_runtime*" -Because $run.Text
        foreach ($i in 1, 2) {
            $run.Output -match "^JOB $i " | Should -BeLike "JOB $i Succeeded t2.small spot $($launches[0].InstanceId) *" -Because $run.Text
        }
        @(Get-PoolInstance | Where-Object { $_.InstanceId -notin $known -and $_.State -notin 'terminated', 'shutting-down' }) | Should -BeNullOrEmpty
        Get-PoolQueue | Where-Object { $_ -notin $queues } | Should -BeNullOrEmpty
    }

    It 'fails a job lost on all its max_attempts, and still removes the pool' {
        $ws = New-TestWorkspace $Cloud -Fsl "-- model 0`n-- fake-femag: sleep 120" -Extra "pool_size = 1`nspot = 1`nmax_attempts = 2"
        $known = @(Get-PoolInstance | ForEach-Object InstanceId)
        $queues = @(Get-PoolQueue)
        $started = Start-FreshPwsh -WorkingDirectory $ws.FullName -Script $Pipeline

        # Reclaim each pool instance as soon as it has taken the job, twice, as Spot would.
        $victims = @()
        $deadline = (Get-Date).AddSeconds(180)
        while ($victims.Count -lt 2 -and (Get-Date) -lt $deadline -and -not $started.Process.HasExited) {
            Start-Sleep -Milliseconds 500
            foreach ($instance in Get-PoolInstance | Where-Object { $_.InstanceId -notin $known -and $_.InstanceId -notin $victims -and $_.State -eq 'running' }) {
                if (Get-ChildItem -Path (Join-Path $Cloud.Sandbox "$($instance.InstanceId)/home/femag-jobs") -Directory -ErrorAction Ignore | Where-Object Name -NotLike '.*') {
                    aws --endpoint-url $Cloud.Endpoint --region eu-central-1 ec2 terminate-instances --instance-ids $instance.InstanceId | Out-Null
                    $victims += $instance.InstanceId
                }
            }
        }
        $victims.Count | Should -Be 2

        $run = Wait-FreshPwsh $started
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $job = $run.Output -match '^JOB 0 '
        $job | Should -BeLike 'JOB 0 Failed attempt=2 *Lost on all 2 launch(es) (max_attempts = 2)*' -Because $run.Text
        $job | Should -BeLike '*attempt 1: *attempt 2: *'
        @(Get-PoolInstance | Where-Object { $_.InstanceId -notin $known -and $_.State -notin 'terminated', 'shutting-down' }) | Should -BeNullOrEmpty
        Get-PoolQueue | Where-Object { $_ -notin $queues } | Should -BeNullOrEmpty -Because 'the queue and its dead-letter queue go with the pool'
    }
}
