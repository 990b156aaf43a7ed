# The region where no job decides, as a user sets it in the environment; and listing buckets without a config.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestCloud.psm1') -Force
    $script:Cloud = Start-TestCloud
}

AfterAll {
    Stop-CloudInstance $script:Cloud -Region us-east-1
    Stop-TestCloud $script:Cloud
}

Describe 'The region from the environment' {
    It 'finds and stops the jobs of AWS_REGION with Get-FemagJob | Stop-FemagInstance, the documented crash clean-up' {
        # The config names us-east-1; the clean-up afterwards has no config, only the environment.
        $ws = New-TestWorkspace $Cloud -Fsl "-- model 0`n-- fake-femag: sleep 120"
        (Get-Content (Join-Path $ws 'config.ini')) -replace '^server_location = .*', 'server_location = us-east-1' |
            Set-Content (Join-Path $ws 'config.ini')
        $start = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | ForEach-Object { "STARTED $($_.Region) $($_.InstanceId)" }
'@
        $start.Output -match '^STARTED us-east-1 i-' | Should -HaveCount 1 -Because $start.Text
        @(Get-CloudInstance $Cloud -Region us-east-1 | Where-Object State -eq 'running').Count | Should -Be 1

        $cleanup = Invoke-FreshPwsh -ArgumentList $Cloud.Endpoint -Environment @{ AWS_REGION = 'us-east-1' } -Script @'
param($Endpoint)
$DebugPreference = 'Continue'
Get-FemagJob -EndpointUrl $Endpoint | Stop-FemagInstance -PassThru | ForEach-Object { "STOPPED $($_.Region) $($_.InstanceId)" }
'@
        $cleanup.ExitCode | Should -Be 0 -Because $cleanup.Text
        $cleanup.Text | Should -Match 'us-east-1 from the environment variable AWS_REGION'
        $cleanup.Output -match '^STOPPED us-east-1 i-' | Should -HaveCount 1 -Because $cleanup.Text
        Get-CloudInstance $Cloud -Region us-east-1 | Where-Object State -notin 'terminated', 'shutting-down' | Should -BeNullOrEmpty
        Get-CloudInstance $Cloud -Region eu-central-1 | Should -BeNullOrEmpty

        $remove = Invoke-FreshPwsh -ArgumentList $Cloud.Endpoint -Environment @{ AWS_DEFAULT_REGION = 'us-east-1' } -Script @'
param($Endpoint)
Get-FemagJob -EndpointUrl $Endpoint | Remove-FemagBucket -Force -PassThru | ForEach-Object { "REMOVED $_" }
'@
        $remove.Output -match '^REMOVED ' | Should -HaveCount 1 -Because $remove.Text
        Get-CloudBucket $Cloud | Should -BeNullOrEmpty -Because 'AWS_DEFAULT_REGION found the us-east-1 bucket too'
    }

    It 'lists the module''s buckets with Get-FemagBucket and no config' {
        $ws = New-TestWorkspace $Cloud -Fsl '-- model 0', '-- model 1'
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -ArgumentList $Cloud.Endpoint -Environment @{ AWS_REGION = 'eu-central-1' } -Script @'
param($Endpoint)
$made = Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini
$listed = Get-FemagBucket -EndpointUrl $Endpoint
"LISTED " + (($listed.BucketName | Sort-Object) -join ',')
"MADE " + (($made.BucketName | Sort-Object) -join ',')
"STATES " + (($listed.State | Sort-Object -Unique) -join ',')
$listed | Remove-FemagBucket -Force
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $listed = ($run.Output | Where-Object { $_ -like 'LISTED *' }) -replace '^LISTED '
        $made = ($run.Output | Where-Object { $_ -like 'MADE *' }) -replace '^MADE '
        $listed | Should -Not -BeNullOrEmpty
        $listed | Should -Be $made
        $run.Output | Should -Contain 'STATES Uploaded'
        Get-CloudBucket $Cloud | Should -BeNullOrEmpty
    }

    It 'finds the instances and states at AWS_ENDPOINT_URL with Get-FemagJob and no -EndpointUrl, as the aws CLI would' {
        $ws = New-TestWorkspace $Cloud -Fsl "-- model 0`n-- fake-femag: sleep 120", "-- model 1`n-- fake-femag: exit 3"
        $start = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script @'
$jobs = Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance
$jobs | Where-Object Index -eq 1 | Wait-FemagJob -PollInterval 1 -SettleTime 1 | ForEach-Object { "WAITED $($_.State) $($_.ExitCode)" }
'@
        $start.Output | Should -Contain 'WAITED Failed 3' -Because $start.Text
        $running = @(Get-CloudInstance $Cloud | Where-Object State -eq 'running')
        $running | Should -HaveCount 1

        # As a user types it: localhost, which the SDK would neither sign for the region nor address path-style by itself.
        $endpoint = $Cloud.Endpoint -replace '127\.0\.0\.1', 'localhost'
        $found = Invoke-FreshPwsh -Environment @{ AWS_ENDPOINT_URL = $endpoint; AWS_REGION = 'eu-central-1' } -Script @'
Get-FemagJob | Sort-Object Index | ForEach-Object { "JOB $($_.Index) $($_.State) $($_.ExitCode) $($_.InstanceId)" }
"ERRORS $($Error.Count)"
Get-FemagJob | Where-Object State -eq Running | Stop-FemagInstance
Get-FemagJob | Remove-FemagBucket -Force
'@
        $found.Output | Should -Contain "JOB 0 Running  $($running[0].InstanceId)" -Because $found.Text
        $found.Output -match '^JOB 1 Failed 3 ' | Should -HaveCount 1
        $found.Output | Should -Contain 'ERRORS 0'
        Get-CloudInstance $Cloud | Where-Object State -notin 'terminated', 'shutting-down' | Should -BeNullOrEmpty
        Get-CloudBucket $Cloud | Should -BeNullOrEmpty
    }
}
