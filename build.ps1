<#
.SYNOPSIS
Builds, tests, packages or cleans FemagAws.

.DESCRIPTION
Run it in pwsh; on a fresh machine 'dotnet tool restore' first gives 'dotnet pwsh' (PowerShell 7.6.9 from NuGet):
  Build    dotnet build FemagAws.sln -c Release, then Test-ModuleManifest on out/FemagAws
  Test     builds in Release, runs the xUnit suite (tests/FemagAws.Tests) and the Pester suite (tests/FemagAws.Pester and
           tests/FemagAws.Windows.Tests.ps1, with Pester 5.7.1 restored from NuGet by the build) and prints one summary;
           the tests start their own local cloud (python3 with moto and boto3, the aws CLI); Chromium for the report
           tests is installed with apt-get when /usr/bin/chromium is missing
  Package  dotnet pack tools/FemagAws.Package -c Release: out/FemagAws.<version>.nupkg
  Clean    removes out/ and every bin/ and obj/

.EXAMPLE
dotnet tool restore; dotnet pwsh ./build.ps1 Test

.EXAMPLE
./build.ps1 Package
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Package', 'Clean')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
$solution = Join-Path $PSScriptRoot 'FemagAws.sln'

function Invoke-Build {
    dotnet build $solution -c $Configuration --nologo
    if ($LASTEXITCODE) { throw "dotnet build failed ($LASTEXITCODE)." }
}

switch ($Task) {
    'Build' {
        Invoke-Build
        Test-ModuleManifest (Join-Path $PSScriptRoot 'out/FemagAws/FemagAws.psd1') | Format-List Name, Version, ExportedCmdlets
    }
    'Test' {
        Invoke-Build

        # xUnit; its own summary line gives the counts. A hung test ends the run with a dump instead of eating CI's time.
        $xunitLines = [Collections.Generic.List[string]]::new()
        dotnet test $solution -c $Configuration --no-build --nologo --blame-hang-timeout 10m | ForEach-Object { $xunitLines.Add($_); $_ }
        $xunitExit = $LASTEXITCODE
        # One summary line per test project: "Passed!  - Failed:     0, Passed:   N, ...".
        $xunitFailed = $xunitPassed = 0
        foreach ($line in $xunitLines -match '(Passed|Failed)! +- Failed: +\d+, Passed: +\d+') {
            $null = $line -match 'Failed: +(\d+), Passed: +(\d+)'
            $xunitFailed += [int]$Matches[1]
            $xunitPassed += [int]$Matches[2]
        }
        if ($xunitExit -and -not $xunitFailed) { $xunitFailed = 1 }   # no summary, or the run itself failed

        # Report.Tests.ps1 renders reports in headless Chromium; on a clean Debian or Ubuntu machine it is installed here.
        if (-not (Test-Path /usr/bin/chromium)) {
            if ((Get-Command apt-get -ErrorAction Ignore) -and (id -u) -eq '0') {
                $env:DEBIAN_FRONTEND = 'noninteractive'
                apt-get update | Out-Host
                apt-get install -y --no-install-recommends chromium | Out-Host
                if ($LASTEXITCODE -or -not (Test-Path /usr/bin/chromium)) { throw "apt-get could not install chromium ($LASTEXITCODE); the report tests need /usr/bin/chromium." }
            }
            else {
                Write-Warning "The report tests need Chromium at /usr/bin/chromium, and this build can install it only as root with apt-get: run 'sudo apt-get install -y --no-install-recommends chromium' (or your system's equivalent) first, or Report.Tests.ps1 fails."
            }
        }

        # Pester, imported by path from the packages folder; it never comes from the PowerShell Gallery.
        $pesterProject = Join-Path $PSScriptRoot 'tests/FemagAws.Pester/FemagAws.Pester.csproj'
        $pesterManifest = dotnet msbuild $pesterProject -getProperty:PesterManifest -p:Configuration=$Configuration
        if ($LASTEXITCODE -or -not (Test-Path $pesterManifest)) { throw "Pester was not restored ($pesterManifest)." }
        Import-Module $pesterManifest -Force
        $pester = New-PesterConfiguration
        $pester.Run.Path = (Join-Path $PSScriptRoot 'tests/FemagAws.Pester'), (Join-Path $PSScriptRoot 'tests/FemagAws.Windows.Tests.ps1')
        $pester.Run.PassThru = $true
        $pester.Output.Verbosity = 'Detailed'
        $result = Invoke-Pester -Configuration $pester

        $passed = $xunitPassed + $result.PassedCount
        $failed = $xunitFailed + $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
        "xUnit: $xunitPassed passed, $xunitFailed failed. Pester: $($result.PassedCount) passed, $($result.FailedCount) failed, $($result.SkippedCount) skipped."
        "$passed passed, $failed failed"
        if ($failed) { exit 1 }
    }
    'Package' {
        dotnet pack (Join-Path $PSScriptRoot 'tools/FemagAws.Package/FemagAws.Package.csproj') -c $Configuration
        if ($LASTEXITCODE) { throw "dotnet pack failed ($LASTEXITCODE)." }
        $props = [xml]::new()
        $props.Load((Join-Path $PSScriptRoot 'Directory.Build.props'))
        $version = $props.SelectSingleNode('//ModuleVersion').InnerText
        Get-Item -LiteralPath (Join-Path $PSScriptRoot "out/FemagAws.$version.nupkg")
    }
    'Clean' {
        Remove-Item -Recurse -Force -ErrorAction SilentlyContinue (Join-Path $PSScriptRoot 'out')
        Get-ChildItem $PSScriptRoot -Recurse -Directory -Include bin, obj | Remove-Item -Recurse -Force
    }
}
