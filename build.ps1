<#
.SYNOPSIS
Builds, tests or cleans FemagAws.

.DESCRIPTION
Wraps the same dotnet commands the README gives for machines without PowerShell:
  Build  dotnet build FemagAws.sln -c Release   (lays out the module in out/FemagAws and checks its manifest)
  Test   dotnet test FemagAws.sln               (xUnit against a local cloud; needs python3 with moto, boto3, aws CLI)
  Clean  removes out/ and every bin/ and obj/

.EXAMPLE
./build.ps1 Test
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Clean')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
$solution = Join-Path $PSScriptRoot 'FemagAws.sln'

switch ($Task) {
    'Build' {
        dotnet build $solution -c $Configuration
        if ($LASTEXITCODE) { throw "dotnet build failed ($LASTEXITCODE)." }
        Test-ModuleManifest (Join-Path $PSScriptRoot 'out/FemagAws/FemagAws.psd1') | Format-List Name, Version, ExportedCmdlets
    }
    'Test' {
        dotnet test $solution -c $Configuration
        if ($LASTEXITCODE) { throw "dotnet test failed ($LASTEXITCODE)." }
    }
    'Clean' {
        Remove-Item -Recurse -Force -ErrorAction SilentlyContinue (Join-Path $PSScriptRoot 'out')
        Get-ChildItem $PSScriptRoot -Recurse -Directory -Include bin, obj | Remove-Item -Recurse -Force
    }
}
