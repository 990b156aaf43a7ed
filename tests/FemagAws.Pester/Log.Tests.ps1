# Each job's log (Get-FemagJobLog) and the last lines of it in a failed or timed-out job's Reason, against the local
# cloud, whose GetConsoleOutput gives what the instance printed (its console.log in the sandbox).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestCloud.psm1') -Force
    $script:Cloud = Start-TestCloud

    # What the instance of a job printed, as the local cloud keeps it.
    function Get-ConsoleLine([string] $InstanceId) {
        @(Get-Content -LiteralPath (Join-Path $Cloud.Sandbox "$InstanceId/console.log"))
    }

    # A job's cloud-init script: the environment header, then these lines.
    function Set-CloudInit($Workspace, [string] $Body) {
        Set-Content -LiteralPath (Join-Path $Workspace 'cloud_init.txt') -Value "#!/bin/bash`n{{ENV}}`n$Body"
    }

    # Waits for a line in an instance's console output, as a user would look before giving up on a job.
    function Wait-ConsoleLine([string] $InstanceId, [string] $Line) {
        $deadline = (Get-Date).AddSeconds(120)
        while ((Get-Date) -lt $deadline) {
            $console = Join-Path $Cloud.Sandbox "$InstanceId/console.log"
            if ((Test-Path -LiteralPath $console) -and (Get-ConsoleLine $InstanceId) -contains $Line) { return }
            Start-Sleep -Milliseconds 300
        }
        throw "Instance $InstanceId did not print '$Line'."
    }
}

AfterAll {
    Stop-CloudInstance $script:Cloud
    Stop-TestCloud $script:Cloud
}

Describe 'Get-FemagJobLog on a job on an instance of its own' {
    BeforeAll {
        $script:Ws = New-TestWorkspace $Cloud -DeleteBuckets 0 -Fsl '-- model 0'
        $run = Invoke-FreshPwsh -WorkingDirectory $Ws.FullName -Script @'
$ErrorActionPreference = 'Stop'
Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Wait-FemagJob -PollInterval 0.5 -SettleTime 1 | Export-Clixml jobs.xml
'@
        if ($run.ExitCode -ne 0) { throw "The job could not be run: $($run.Text)" }
        $script:Job = Import-Clixml (Join-Path $Ws 'jobs.xml')
        $script:Console = Get-ConsoleLine $Job.InstanceId
    }

    It 'writes its instance''s console output, line by line, and -Tail the last lines' {
        $run = Invoke-FreshPwsh -WorkingDirectory $Ws.FullName -Script @'
$ErrorActionPreference = 'Stop'
$job = Import-Clixml jobs.xml
$job | Get-FemagJobLog | ForEach-Object { "LINE $_" }
$job | Get-FemagJobLog -Tail 2 | ForEach-Object { "TAIL $_" }
"TYPE " + ($job | Get-FemagJobLog | Select-Object -First 1).GetType().Name
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $Console | Should -Contain 'fake xfemag done, exit 0'
        # The aws CLI's progress lines end in spaces and a carriage return: compared without trailing white space.
        @($run.Output -match '^LINE ' | ForEach-Object { $_.Substring(5).TrimEnd() }) | Should -Be ($Console | ForEach-Object { "$_".TrimEnd() })
        @($run.Output -match '^TAIL ' | ForEach-Object { $_.Substring(5).TrimEnd() }) | Should -Be @($Console[-2..-1] | ForEach-Object { "$_".TrimEnd() })
        $run.Output | Should -Contain 'TYPE String'
    }

    It 'reads the log of the job rebuilt in a new session, by Get-FemagJob and by -BucketName' {
        $run = Invoke-FreshPwsh -WorkingDirectory $Ws.FullName -Environment @{ ENDPOINT = $Cloud.Endpoint; BUCKET = $Job.BucketName } -Script @'
$ErrorActionPreference = 'Stop'
Get-FemagJob -Region eu-central-1 -EndpointUrl $env:ENDPOINT | Where-Object BucketName -eq $env:BUCKET | Get-FemagJobLog -Tail 1 | ForEach-Object { "REBUILT $_" }
Get-FemagJobLog -BucketName $env:BUCKET -Region eu-central-1 -EndpointUrl $env:ENDPOINT | ForEach-Object { "BUCKET $_" }
[pscustomobject]@{ BucketName = $env:BUCKET } | Get-FemagJobLog -Tail 1 -Region eu-central-1 -EndpointUrl $env:ENDPOINT | ForEach-Object { "BYNAME $_" }
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $last = "$($Console[-1])".TrimEnd()
        $run.Output -match '^REBUILT ' | Should -Be "REBUILT $last"
        @($run.Output -match '^BUCKET ').Count | Should -Be $Console.Count -Because $run.Text
        $run.Output -match '^BYNAME ' | Should -Be "BYNAME $last"
    }

    It 'says when the job never ran, when EC2 has no output any more, and goes on with the next job' {
        $other = New-TestWorkspace $Cloud -DeleteBuckets 0 -Fsl '-- model 0'
        Copy-Item (Join-Path $Ws 'jobs.xml') (Join-Path $other 'gone.xml')
        # AWS keeps console output only a while after the instance ended; here it is gone at once.
        Remove-Item -LiteralPath (Join-Path $Cloud.Sandbox "$($Job.InstanceId)/console.log")
        try {
            $run = Invoke-FreshPwsh -WorkingDirectory $other.FullName -Environment @{ ENDPOINT = $Cloud.Endpoint } -Script @'
$uploaded = Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini
@($uploaded) + @(Import-Clixml gone.xml) | Get-FemagJobLog -ErrorVariable failures | ForEach-Object { "LINE $_" }
Get-FemagJobLog -BucketName 'no-such-bucket-00000000-0' -Region eu-central-1 -EndpointUrl $env:ENDPOINT -ErrorVariable +failures
Get-FemagJobLog -ErrorVariable +failures
foreach ($f in $failures) { "ERROR $($f.FullyQualifiedErrorId) $($f.CategoryInfo.Category)" }
'@
        }
        finally {
            Set-Content -LiteralPath (Join-Path $Cloud.Sandbox "$($Job.InstanceId)/console.log") -Value $Console
        }
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output -match '^LINE ' | Should -BeNullOrEmpty
        $errors = @($run.Output -match '^ERROR ')
        $errors[0] | Should -Match '^ERROR FemagJobLogNotStarted,FemagAws.Commands.GetFemagJobLogCommand ObjectNotFound$'
        $errors[1] | Should -Match '^ERROR FemagJobLogGone,FemagAws.Commands.GetFemagJobLogCommand ObjectNotFound$'
        $errors[2] | Should -Match '^ERROR AwsNoSuchBucket,FemagAws.Commands.GetFemagJobLogCommand ObjectNotFound$'
        $errors[3] | Should -Match '^ERROR FemagNoJobLogAsked,FemagAws.Commands.GetFemagJobLogCommand InvalidArgument$'
        $errors.Count | Should -Be 4 -Because $run.Text
    }
}

Describe 'Get-FemagJobLog on a pool job' {
    It 'writes the log the worker kept in the job''s bucket, also of the job rebuilt by -BucketName' {
        $ws = New-TestWorkspace $Cloud -DeleteBuckets 0 -Fsl '-- model 0' -Extra 'pool_size = 1'
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Environment @{ ENDPOINT = $Cloud.Endpoint } -Script @'
$ErrorActionPreference = 'Stop'
$job = Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Wait-FemagJob -PollInterval 0.5 -SettleTime 1
"JOB $($job.State) pool=$($job.PoolId)"
$job | Get-FemagJobLog | ForEach-Object { "LINE $_" }
$job | Get-FemagJobLog -Tail 1 | ForEach-Object { "TAIL $_" }
Get-FemagJobLog -BucketName $job.BucketName -Region eu-central-1 -EndpointUrl $env:ENDPOINT | ForEach-Object { "BUCKET $_" }
aws --endpoint-url $env:ENDPOINT --region eu-central-1 s3 cp "s3://$($job.BucketName)/femag-aws/job.log" job.log | Out-Null
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output -match '^JOB ' | Should -Match '^JOB Succeeded pool=p\d{14}-[0-9a-f]{8}$'
        $log = @(Get-Content -LiteralPath (Join-Path $ws 'job.log'))
        $log | Should -Contain 'fake xfemag done, exit 0'
        @($run.Output -match '^LINE ' | ForEach-Object { $_.Substring(5).TrimEnd() }) | Should -Be ($log | ForEach-Object { "$_".TrimEnd() })
        $run.Output -match '^TAIL ' | Should -Be "TAIL $("$($log[-1])".TrimEnd())"
        # Rebuilt from its bucket, whose tags name its pool.
        @($run.Output -match '^BUCKET ' | ForEach-Object { $_.Substring(7).TrimEnd() }) | Should -Be ($log | ForEach-Object { "$_".TrimEnd() })
    }
}

Describe 'Get-FemagJobLog -Wait on a pool job' {
    It 'waits while a pool instance runs the job and returns with the whole log once the job ended' {
        $ws = New-TestWorkspace $Cloud -DeleteBuckets 0 -Fsl "-- model 0`n-- fake-femag: sleep 4" -Extra 'pool_size = 1'
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Environment @{ ENDPOINT = $Cloud.Endpoint } -Script @'
$ErrorActionPreference = 'Stop'
$job = Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance
"STARTED $($job.State)"
$job | Get-FemagJobLog -Wait -PollInterval 0.5 | ForEach-Object { "LINE $_" }
"RETURNED"
# The pool's instance and queue go once its job is waited for.
$job = $job | Wait-FemagJob -PollInterval 0.5 -SettleTime 1
"JOB $($job.State)"
aws --endpoint-url $env:ENDPOINT --region eu-central-1 s3 cp "s3://$($job.BucketName)/femag-aws/job.log" job.log | Out-Null
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output | Should -Contain 'STARTED Queued' -Because 'the job waited in its pool''s queue when -Wait began'
        $run.Output | Should -Contain 'RETURNED'
        $run.Output | Should -Contain 'JOB Succeeded'
        $log = @(Get-Content -LiteralPath (Join-Path $ws 'job.log'))
        $log | Should -Contain 'fake xfemag done, exit 0'
        @($run.Output -match '^LINE ' | ForEach-Object { $_.Substring(5).TrimEnd() }) | Should -Be ($log | ForEach-Object { "$_".TrimEnd() })
    }
}

Describe 'Get-FemagJobLog -Wait' {
    It 'writes the lines printed after it began, each once, and returns once the job ended; the job''s Reason has its last lines' {
        $ws = New-TestWorkspace $Cloud -DeleteBuckets 0 -Fsl '-- model 0'
        # The script prints more only once the follower has seen its first line, and then halts without exit_code.
        Set-CloudInit $ws @'
echo "waiting for go"
until aws s3api head-object --bucket "$BUCKET_NAME" --key go >/dev/null 2>&1; do sleep 0.5; done
for i in 1 2 3; do echo "after go $i"; sleep 1; done
echo "LOG-TEST: cannot mesh the rotor"
shutdown -h now
'@
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Environment @{ ENDPOINT = $Cloud.Endpoint } -Script @'
$ErrorActionPreference = 'Stop'
$job = Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance
$job | Get-FemagJobLog -Wait -PollInterval 0.5 | ForEach-Object {
    "LINE $_"
    if ($_ -eq 'waiting for go') { aws --endpoint-url $env:ENDPOINT --region eu-central-1 s3api put-object --bucket $job.BucketName --key go | Out-Null }
}
"RETURNED"
$job = $job | Wait-FemagJob -PollInterval 0.5 -SettleTime 1
"JOB $($job.State) exit=$($job.ExitCode)"
"REASON $($job.Reason -replace "`n", ' | ')"
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $lines = @($run.Output -match '^LINE ')
        @($lines -eq 'LINE waiting for go').Count | Should -Be 1 -Because $run.Text
        @($lines -match '^LINE (after go \d|LOG-TEST: .*)$') | Should -Be @('LINE after go 1', 'LINE after go 2', 'LINE after go 3', 'LINE LOG-TEST: cannot mesh the rotor')
        $run.Output | Should -Contain 'RETURNED'
        $run.Output | Should -Contain 'JOB Failed exit='
        # The local cloud's halt prints one more line after the script's.
        $run.Output -match '^REASON ' | Should -BeLike '*exit_code*Last lines of its output: | *after go 2 | after go 3 | LOG-TEST: cannot mesh the rotor | *'
    }
}

Describe 'A job that times out' {
    It 'carries the last lines of its console output in its Reason' {
        $ws = New-TestWorkspace $Cloud -DeleteBuckets 0 -Fsl '-- model 0'
        Set-CloudInit $ws "echo 'LOG-TEST: still meshing, 42 %'`nsleep 600"
        $start = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$ErrorActionPreference = 'Stop'
Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Export-Clixml jobs.xml
'@
        $start.ExitCode | Should -Be 0 -Because $start.Text
        Wait-ConsoleLine (Import-Clixml (Join-Path $ws 'jobs.xml')).InstanceId 'LOG-TEST: still meshing, 42 %'

        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$job = Import-Clixml jobs.xml | Wait-FemagJob -Timeout 0 -PollInterval 0.5 -WarningAction SilentlyContinue
"JOB $($job.State)"
"REASON $($job.Reason -replace "`n", ' | ')"
'@
        Stop-CloudInstance $Cloud
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output | Should -Contain 'JOB TimedOut'
        $run.Output -match '^REASON ' | Should -BeLike '*Last lines of its output: | *LOG-TEST: still meshing, 42 %'
    }
}
