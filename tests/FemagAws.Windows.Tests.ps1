<#
.SYNOPSIS
Pester 5 tests of the module as it loads in each PowerShell: Windows PowerShell 5.1 (powershell.exe) and pwsh.

.DESCRIPTION
build.ps1 Test runs this file in pwsh with the rest of the Pester suite (tests/FemagAws.Pester), on Linux too. What
only Windows can show is skipped elsewhere with the reason: the Windows PowerShell 5.1 load path (the module's
AssemblyResolve handler for its dependencies folder) and AWS Tools' SDK loaded first. On Windows, run it in both:

    dotnet build FemagAws.sln -c Release
    Invoke-Pester ./tests/FemagAws.Windows.Tests.ps1 -Output Detailed                     # in powershell.exe
    pwsh -c "Invoke-Pester ./tests/FemagAws.Windows.Tests.ps1 -Output Detailed"           # and in pwsh

Each check starts a fresh process of the same PowerShell (a loaded binary module cannot be unloaded): powershell.exe
or pwsh from $PSHOME, never (Get-Process -Id $PID).Path, which is the dotnet host under the dotnet global tool.
Set FEMAGAWS_MODULE to test another module folder, e.g. one installed from the nupkg. The checks that make buckets
use FEMAGAWS_TEST_ENDPOINT (a moto_server URL, e.g. http://127.0.0.1:5000) or, where python3 runs tools/localcloud
(Linux, as root), a local cloud of their own.
#>

BeforeDiscovery {
    $script:HaveAwsTools = [bool](Get-Module -ListAvailable -Name AWS.Tools.Common)
}

BeforeAll {
    $script:Module = if ($env:FEMAGAWS_MODULE) { $env:FEMAGAWS_MODULE } else { Join-Path $PSScriptRoot '../out/FemagAws/FemagAws.psd1' }
    $script:Module = (Resolve-Path $script:Module).Path
    $script:PowerShell = if ($PSVersionTable.PSEdition -eq 'Desktop') { Join-Path $PSHOME 'powershell.exe' }
        elseif ($IsWindows) { Join-Path $PSHOME 'pwsh.exe' } else { Join-Path $PSHOME 'pwsh' }

    $script:Endpoint = $env:FEMAGAWS_TEST_ENDPOINT
    if (-not $Endpoint -and $IsLinux -and (Get-Command python3 -ErrorAction Ignore)) {
        Import-Module (Join-Path $PSScriptRoot 'FemagAws.Pester/TestCloud.psm1') -Force
        $script:Cloud = Start-TestCloud
        $script:Endpoint = $Cloud.Endpoint
    }

    # Runs a script in a new process of this PowerShell; returns its output lines and exit code.
    function Invoke-Fresh([string] $Script) {
        $command = "`$ErrorActionPreference = 'Stop'; `$module = '$($script:Module -replace "'", "''")'; " + $Script
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($command))
        $output = @(& $script:PowerShell -NoProfile -NonInteractive -EncodedCommand $encoded 2>&1 | ForEach-Object { "$_" })
        [pscustomobject]@{ Output = $output; ExitCode = $LASTEXITCODE }
    }
}

AfterAll {
    if ($script:Cloud) { Stop-TestCloud $script:Cloud }
}

Describe 'FemagAws in <_>' -ForEach @($PSVersionTable.PSEdition) {
    It 'passes Test-ModuleManifest and exports the eleven cmdlets' {
        $run = Invoke-Fresh 'Test-ModuleManifest $module | Out-Null; Import-Module $module; (Get-Command -Module FemagAws).Name -join ","'
        $run.ExitCode | Should -Be 0
        ($run.Output[-1] -split ',').Count | Should -Be 11
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

    It 'loads next to AWS.Tools.Common, imported first, and both SDKs keep working' {
        if (-not $HaveAwsTools) { Set-ItResult -Skipped -Because 'AWS.Tools.Common is not installed (the PowerShell Gallery is not reachable here); the xUnit CoexistenceTests load its SDK 3.7 assemblies instead' }
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

    It 'takes an AWS Tools credentials object and sends requests to a local endpoint' {
        if (-not $HaveAwsTools) { Set-ItResult -Skipped -Because 'AWS.Tools.Common is not installed (the PowerShell Gallery is not reachable here)' }
        if (-not $Endpoint) { Set-ItResult -Skipped -Because 'no local endpoint: set FEMAGAWS_TEST_ENDPOINT to a moto_server URL' }
        $run = Invoke-Fresh @"
Import-Module AWS.Tools.Common
`$awsToolsCredential = [Amazon.Runtime.BasicAWSCredentials]::new('testing', 'testing')
Import-Module `$module
Get-FemagJob -Region eu-central-1 -EndpointUrl $Endpoint -Credential `$awsToolsCredential | Out-Null
'LISTED'
"@
        $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
        $run.Output | Should -Contain 'LISTED'
    }

    It 'runs New-FemagBucket and Remove-FemagBucket against a local endpoint' {
        if (-not $Endpoint) { Set-ItResult -Skipped -Because 'no local endpoint: set FEMAGAWS_TEST_ENDPOINT to a moto_server URL' }
        $run = Invoke-Fresh @"
Import-Module `$module
`$root = Join-Path ([IO.Path]::GetTempPath()) ('femag-pester-' + [guid]::NewGuid())
`$folder = New-Item -ItemType Directory (Join-Path `$root 'parvar/0')
Set-Content (Join-Path `$folder 'femag.fsl') '-- pester'
Set-Content (Join-Path `$root 'cloud_init.txt') "#!/bin/bash``n{{ENV}}``n"
Set-Content (Join-Path `$root 'config.ini') "[amazon]``nserver_location = eu-central-1``ncloud_init = ./cloud_init.txt``nendpoint_url = $Endpoint``n"
try {
    `$job = Get-Item `$folder | New-FemagBucket -ConfigFile (Join-Path `$root 'config.ini') -AccessKey testing -SecretKey testing
    `$job.State
    `$job | Remove-FemagBucket -Force -AccessKey testing -SecretKey testing
} finally { Remove-Item -Recurse -Force `$root }
"@
        $run.ExitCode | Should -Be 0
        $run.Output | Should -Contain 'Uploaded'
    }

    It 'imports in Windows PowerShell 5.1, whose AssemblyResolve handler finds the dependencies folder' {
        if ($PSVersionTable.PSEdition -eq 'Core' -and -not $IsWindows) { Set-ItResult -Skipped -Because 'Windows PowerShell 5.1 (powershell.exe, .NET Framework) runs only on Windows' }
        $windowsPowerShell = Join-Path $env:SystemRoot 'System32\WindowsPowerShell\v1.0\powershell.exe'
        $command = "Import-Module '$($Module -replace "'", "''")'; `$null = TabExpansion2 -inputScript 'New-FemagBucket -Region eu-cen' -cursorColumn 30; " +
            "'CMDLETS ' + (Get-Command -Module FemagAws).Count; [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'AWSSDK.Core' } | ForEach-Object { 'SDK ' + `$_.Location }"
        $output = @(& $windowsPowerShell -NoProfile -NonInteractive -Command $command 2>&1 | ForEach-Object { "$_" })
        $LASTEXITCODE | Should -Be 0 -Because ($output -join "`n")
        $output | Should -Contain 'CMDLETS 11'
        ($output | Where-Object { $_ -match '^SDK .*[\\/]dependencies[\\/]AWSSDK\.Core\.dll$' }) | Should -Not -BeNullOrEmpty
    }

    It 'shows full help with examples for every cmdlet' {
        $run = Invoke-Fresh 'Import-Module $module; foreach ($c in Get-Command -Module FemagAws) { $h = Get-Help $c.Name -Full; "{0}|{1}" -f $c.Name, @($h.examples.example).Count }'
        $run.ExitCode | Should -Be 0
        $run.Output.Count | Should -Be 11
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
