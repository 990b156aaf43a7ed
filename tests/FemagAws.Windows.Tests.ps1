<#
.SYNOPSIS
Pester 5 tests of the module as Windows users load it: Windows PowerShell 5.1 (powershell.exe) and PowerShell 7 (pwsh).

.DESCRIPTION
The xUnit suite (tests/FemagAws.Tests) runs everything else, in the PowerShell 7 engine hosted in .NET. These tests
cover what only a real powershell.exe can show: the Windows PowerShell 5.1 load path (the module's AssemblyResolve
handler for its dependencies folder) next to AWS Tools' SDK. They were written on a Linux machine without any
PowerShell and have NOT been run there; run them on Windows:

    dotnet build FemagAws.sln -c Release
    Invoke-Pester ./tests/FemagAws.Windows.Tests.ps1 -Output Detailed                     # in powershell.exe
    pwsh -c "Invoke-Pester ./tests/FemagAws.Windows.Tests.ps1 -Output Detailed"           # and in pwsh

Each check starts a fresh process of the same PowerShell (a loaded binary module cannot be unloaded).
Set FEMAGAWS_MODULE to test another module folder, e.g. one installed from the nupkg. Set FEMAGAWS_TEST_ENDPOINT
(a moto_server URL, e.g. http://127.0.0.1:5000) to also make buckets there; without it that check is skipped.
AWS.Tools.Common, where installed, is imported first to prove the module loads next to its AWSSDK.Core 3.7.
#>

BeforeDiscovery {
    $script:HaveAwsTools = [bool](Get-Module -ListAvailable -Name AWS.Tools.Common)
    $script:HaveEndpoint = [bool]$env:FEMAGAWS_TEST_ENDPOINT
}

BeforeAll {
    $script:Module = if ($env:FEMAGAWS_MODULE) { $env:FEMAGAWS_MODULE } else { Join-Path $PSScriptRoot '../out/FemagAws/FemagAws.psd1' }
    $script:Module = (Resolve-Path $script:Module).Path
    $script:PowerShell = (Get-Process -Id $PID).Path

    # Runs a script in a new process of this PowerShell; returns its output lines and exit code.
    function Invoke-Fresh([string] $Script) {
        $command = "`$ErrorActionPreference = 'Stop'; `$module = '$($script:Module -replace "'", "''")'; " + $Script
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($command))
        $output = @(& $script:PowerShell -NoProfile -NonInteractive -EncodedCommand $encoded 2>&1 | ForEach-Object { "$_" })
        [pscustomobject]@{ Output = $output; ExitCode = $LASTEXITCODE }
    }
}

Describe 'FemagAws in <_>' -ForEach @($PSVersionTable.PSEdition) {
    It 'passes Test-ModuleManifest and exports the nine cmdlets' {
        $run = Invoke-Fresh 'Test-ModuleManifest $module | Out-Null; Import-Module $module; (Get-Command -Module FemagAws).Name -join ","'
        $run.ExitCode | Should -Be 0
        ($run.Output[-1] -split ',').Count | Should -Be 9
    }

    It 'loads FemagAws.Core and AWSSDK.Core 4 from the dependencies folder' {
        $run = Invoke-Fresh @'
Import-Module $module
# Region completion asks the AWS SDK: FemagAws.Core and AWSSDK.Core load, with no request sent.
$null = TabExpansion2 -inputScript 'New-FemagBucket -Region eu-cen' -cursorColumn 30
[AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -in 'FemagAws.Core', 'AWSSDK.Core' } |
    ForEach-Object { '{0} {1} {2}' -f $_.GetName().Name, $_.GetName().Version, $_.Location }
'@
        $run.ExitCode | Should -Be 0
        ($run.Output | Where-Object { $_ -match '^FemagAws\.Core .*[\\/]dependencies[\\/]FemagAws\.Core\.dll$' }) | Should -Not -BeNullOrEmpty
        ($run.Output | Where-Object { $_ -match '^AWSSDK\.Core 4\.0\.0\.0 .*[\\/]dependencies[\\/]AWSSDK\.Core\.dll$' }) | Should -Not -BeNullOrEmpty
    }

    It 'loads next to AWS.Tools.Common, imported first, and both SDKs keep working' -Skip:(-not $HaveAwsTools) {
        $run = Invoke-Fresh @'
Import-Module AWS.Tools.Common
$awsToolsMajor = [Amazon.Runtime.AWSCredentials].Assembly.GetName().Version.Major
Import-Module $module
$null = TabExpansion2 -inputScript 'New-FemagBucket -Region eu-cen' -cursorColumn 30
'AWS-TOOLS-SDK ' + $awsToolsMajor
'SDKS ' + (([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'AWSSDK.Core' } | ForEach-Object { $_.GetName().Version.Major } | Sort-Object -Unique) -join ',')
'AWS-TOOLS-REGION ' + (Get-AWSRegion | Where-Object Region -eq 'eu-central-1').Region
'@
        $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
        $run.Output | Should -Contain 'AWS-TOOLS-REGION eu-central-1'
        # AWS.Tools 4 brings SDK 3 (then both load side by side); AWS.Tools 5 brings SDK 4, shared on Windows PowerShell.
        $awsToolsMajor = [int](($run.Output | Where-Object { $_ -like 'AWS-TOOLS-SDK *' }) -replace 'AWS-TOOLS-SDK ')
        $expected = if ($awsToolsMajor -lt 4) { "SDKS $awsToolsMajor,4" } else { 'SDKS 4' }
        $run.Output | Should -Contain $expected
    }

    It 'takes an AWS Tools credentials object and sends requests to a local endpoint' -Skip:(-not ($HaveAwsTools -and $HaveEndpoint)) {
        $run = Invoke-Fresh @"
Import-Module AWS.Tools.Common
`$awsToolsCredential = [Amazon.Runtime.BasicAWSCredentials]::new('testing', 'testing')
Import-Module `$module
Get-FemagJob -Region eu-central-1 -EndpointUrl $($env:FEMAGAWS_TEST_ENDPOINT) -Credential `$awsToolsCredential | Out-Null
'LISTED'
"@
        $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
        $run.Output | Should -Contain 'LISTED'
    }

    It 'runs New-FemagBucket and Remove-FemagBucket against a local endpoint' -Skip:(-not $HaveEndpoint) {
        $run = Invoke-Fresh @"
Import-Module `$module
`$root = Join-Path ([IO.Path]::GetTempPath()) ('femag-pester-' + [guid]::NewGuid())
`$folder = New-Item -ItemType Directory (Join-Path `$root 'parvar/0')
Set-Content (Join-Path `$folder 'femag.fsl') '-- pester'
Set-Content (Join-Path `$root 'cloud_init.txt') "#!/bin/bash``n{{ENV}}``n"
Set-Content (Join-Path `$root 'config.ini') "[amazon]``nserver_location = eu-central-1``ncloud_init = ./cloud_init.txt``nendpoint_url = $($env:FEMAGAWS_TEST_ENDPOINT)``n"
try {
    `$job = Get-Item `$folder | New-FemagBucket -ConfigFile (Join-Path `$root 'config.ini') -AccessKey testing -SecretKey testing
    `$job.State
    `$job | Remove-FemagBucket -Force -AccessKey testing -SecretKey testing
} finally { Remove-Item -Recurse -Force `$root }
"@
        $run.ExitCode | Should -Be 0
        $run.Output | Should -Contain 'Uploaded'
    }

    It 'shows full help with examples for every cmdlet' {
        $run = Invoke-Fresh 'Import-Module $module; foreach ($c in Get-Command -Module FemagAws) { $h = Get-Help $c.Name -Full; "{0}|{1}" -f $c.Name, @($h.examples.example).Count }'
        $run.ExitCode | Should -Be 0
        $run.Output.Count | Should -Be 9
        foreach ($line in $run.Output) { [int]($line -split '\|')[1] | Should -BeGreaterOrEqual 2 -Because $line }
    }

    It 'shows about_FemagAws' {
        $run = Invoke-Fresh 'Import-Module $module; Get-Help about_FemagAws | Out-String'
        ($run.Output -join "`n") | Should -Match 'CREDENTIALS AND REGION'
    }

    It 'completes -Region, -InstanceType and -ProfileName' {
        $run = Invoke-Fresh @'
Import-Module $module
foreach ($line in 'New-FemagBucket -Region eu-cen', 'Start-FemagInstance -InstanceType c5.xl') {
    (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText -join ','
}
'@
        $run.ExitCode | Should -Be 0
        $run.Output[0] -split ',' | Should -Contain 'eu-central-1'
        $run.Output[1] -split ',' | Should -Contain 'c5.xlarge'
    }
}
