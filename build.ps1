<#
.SYNOPSIS
Builds, tests, packages or cleans FemagAws.

.DESCRIPTION
Wraps the same dotnet commands the README gives for machines without PowerShell:
  Build    dotnet build FemagAws.sln -c Release              (lays out the module in out/FemagAws and checks its manifest)
  Test     dotnet test FemagAws.sln                          (xUnit against a local cloud; needs python3 with moto, boto3, aws CLI)
  Package  dotnet pack tools/FemagAws.Package -c Release     (builds, then packs out/FemagAws into out/FemagAws.<version>.nupkg)
  Clean    removes out/ and every bin/ and obj/

.EXAMPLE
./build.ps1 Test

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
