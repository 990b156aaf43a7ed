# One saved job started from two sessions at once, and again while it runs: one instance, and the running
# instance's exit_code is left alone.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestCloud.psm1') -Force
    $script:Cloud = Start-TestCloud
    $script:Ws = New-TestWorkspace $Cloud -Fsl "-- model 0`n-- fake-femag: sleep 600"
    $script:Saved = Join-Path $Ws 'job.xml'
    $run = Invoke-FreshPwsh -WorkingDirectory $Ws.FullName -ArgumentList $Saved -Script @'
param($Saved)
Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Export-Clixml $Saved
'@
    if ($run.ExitCode -ne 0 -or -not (Test-Path $Saved)) { throw "The job could not be made: $($run.Text)" }
    $script:Bucket = (Import-Clixml $Saved).BucketName

    # Every instance the account ever had for the job's bucket, ended ones too.
    function script:Get-JobInstance { @(Get-CloudInstance $Cloud | Where-Object { $_.Tags['femag-aws:bucket'] -eq $Bucket }) }
}

AfterAll {
    Stop-CloudInstance $script:Cloud
    Stop-TestCloud $script:Cloud
}

Describe 'Start-FemagInstance on one saved job' {
    It 'launches one instance when two sessions start it at the same moment' {
        # Both sessions load the module and the job first, then start together once both are ready.
        $go = Join-Path $Ws 'go'
        $starts = foreach ($name in 'a', 'b') {
            Start-FreshPwsh -ArgumentList $Saved, $go, (Join-Path $Ws "ready-$name") -Script @'
param($Saved, $Go, $Ready)
Import-Module FemagAws
$job = Import-Clixml $Saved
New-Item -ItemType File $Ready | Out-Null
while (-not (Test-Path $Go)) { Start-Sleep -Milliseconds 10 }
$job | Start-FemagInstance | ForEach-Object { "STARTED $($_.State) $($_.InstanceId)" }
'@
        }
        while (-not ((Test-Path (Join-Path $Ws 'ready-a')) -and (Test-Path (Join-Path $Ws 'ready-b'))) -and -not ($starts.Process | Where-Object HasExited)) {
            Start-Sleep -Milliseconds 20
        }
        New-Item -ItemType File $go | Out-Null
        $runs = foreach ($start in $starts) { Wait-FreshPwsh $start }

        foreach ($run in $runs) { $run.ExitCode | Should -Be 0 -Because $run.Text }
        $instances = Get-JobInstance
        $instances | Should -HaveCount 1 -Because ($runs.Text -join "`n")
        foreach ($run in $runs) { $run.Output | Should -Contain "STARTED Running $($instances[0].InstanceId)" }
    }

    It 'launches none while the instance runs, keeps the exit_code it wrote and says which instance runs the job' {
        $instance = (Get-JobInstance)[0].InstanceId
        $finish = Join-Path $Ws 'exit_code'
        Set-Content -LiteralPath $finish -Value 0
        aws --endpoint-url $Cloud.Endpoint --region eu-central-1 s3 cp $finish "s3://$Bucket/exit_code" | Out-Null

        $run = Invoke-FreshPwsh -ArgumentList $Saved -Script @'
param($Saved)
Import-Clixml $Saved | Start-FemagInstance | ForEach-Object { "STARTED $($_.State) $($_.InstanceId)" }
'@

        $run.ExitCode | Should -Be 0 -Because $run.Text
        $run.Output | Should -Contain "STARTED Running $instance"
        @($run.Output -match "WARNING: Job 0 .*Already running: instance $instance") | Should -HaveCount 1 -Because $run.Text
        Get-JobInstance | Should -HaveCount 1
        $keys = (aws --endpoint-url $Cloud.Endpoint --region eu-central-1 s3api list-objects-v2 --bucket $Bucket --output json | ConvertFrom-Json).Contents.Key
        $keys | Should -Contain 'exit_code'
    }
}
