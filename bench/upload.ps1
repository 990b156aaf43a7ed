<#
.SYNOPSIS
Benchmark step: New-FemagBucket for every subfolder of -Parent (index = ordinal order of the folder names).

.DESCRIPTION
Runs in tools/FemagAws.ScriptHost (core cmdlets only). With -JobsFile the jobs are saved with PSSerializer
for a later step (receive.ps1); otherwise they are discarded as they stream out.
#>
param(
    [Parameter(Mandatory)] [string] $Parent,
    [Parameter(Mandatory)] [string] $ConfigFile,
    [Parameter(Mandatory)] [string] $EndpointUrl,
    [string] $JobsFile
)

$ErrorActionPreference = 'Stop'
Import-Module ([IO.Path]::Combine($PSScriptRoot, '..', 'out', 'FemagAws', 'FemagAws.psd1'))

$paths = [IO.Directory]::GetDirectories($Parent)
[Array]::Sort($paths, [StringComparer]::Ordinal)
$folders = [IO.DirectoryInfo[]]$paths
if ($JobsFile) {
    $jobs = @($folders | New-FemagBucket -ConfigFile $ConfigFile -EndpointUrl $EndpointUrl)
    [IO.File]::WriteAllText($JobsFile, [System.Management.Automation.PSSerializer]::Serialize($jobs, 4))
    "uploaded $($jobs.Count) folders"
}
else {
    $folders | New-FemagBucket -ConfigFile $ConfigFile -EndpointUrl $EndpointUrl | Out-Null
    "uploaded $($folders.Count) folders"
}
