<#
.SYNOPSIS
What the Pester suite needs around the module: a local cloud, a user's folders, and a fresh pwsh to run a script in.

.DESCRIPTION
Start-TestCloud starts tools/localcloud (moto plus the instance runner that runs user data with bash) on a free
loopback port, through tools/localcloud/LocalCloud.psm1; it never outlives the Pester process. Invoke-FreshPwsh runs a
script in a new pwsh process (Join-Path $PSHOME pwsh: under the dotnet global tool, this process's own path is the
dotnet host) with out/ on PSModulePath, so the module auto-loads from the build as an installed module would.
#>

$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$script:ModuleRoot = Join-Path $script:RepoRoot 'out'
Import-Module (Join-Path $script:RepoRoot 'tools/localcloud/LocalCloud.psm1')
$script:PwshPath = if ($IsWindows) { Join-Path $PSHOME 'pwsh.exe' } else { Join-Path $PSHOME 'pwsh' }

function Get-RepoRoot { $script:RepoRoot }

function Get-PwshPath { $script:PwshPath }

# What Start-TestCloud changed in this process's environment, and the folders the tests made: Stop-TestCloud puts
# back the one and removes the others, so running the suite in one's own pwsh session leaves it as it was.
$script:SavedEnvironment = @{}
$script:TemporaryDirectories = [Collections.Generic.List[string]]::new()

# Sets or, for $null, removes a variable ([Environment]::SetEnvironmentVariable would get '' for $null from pwsh).
function Set-EnvironmentVariable([string] $Name, $Value) {
    if ($null -eq $Value) { Remove-Item "env:$Name" -ErrorAction Ignore } else { Set-Item "env:$Name" $Value }
}

function Start-TestCloud {
    <#
    Starts a local cloud on a free port; returns an object with Endpoint, Sandbox and the process. -SpotPrice gives
    its Spot price history (localcloud.py --spot-price).
    #>
    param([string[]] $SpotPrice = @())
    # Like a user's machine with keys in the environment; nothing reads a real ~/.aws.
    $test = @{
        AWS_ACCESS_KEY_ID = 'testing'; AWS_SECRET_ACCESS_KEY = 'testing'; AWS_EC2_METADATA_DISABLED = 'true'
        AWS_REGION = $null; AWS_DEFAULT_REGION = $null; AWS_PROFILE = $null; AWS_SESSION_TOKEN = $null; AWS_ENDPOINT_URL = $null
    }
    foreach ($name in $test.Keys) {
        if (-not $script:SavedEnvironment.ContainsKey($name)) { $script:SavedEnvironment[$name] = [Environment]::GetEnvironmentVariable($name) }
        Set-EnvironmentVariable $name $test[$name]
    }
    Start-LocalCloud -SpotPrice $SpotPrice
}

function Stop-TestCloud($Cloud) {
    Stop-LocalCloud $Cloud
    foreach ($name in $script:SavedEnvironment.Keys) { Set-EnvironmentVariable $name $script:SavedEnvironment[$name] }
    $script:SavedEnvironment.Clear()
    foreach ($folder in $script:TemporaryDirectories) { Remove-Item -LiteralPath $folder -Recurse -Force -ErrorAction Ignore }
    $script:TemporaryDirectories.Clear()
}

function New-TemporaryDirectory([string] $Prefix = 'femag-') {
    <# A new folder under the temp folder; Stop-TestCloud removes it. #>
    $folder = (New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) ($Prefix + [guid]::NewGuid().ToString('N').Substring(0, 8)))).FullName
    $script:TemporaryDirectories.Add($folder)
    $folder
}

function New-TestWorkspace {
    <#
    A user's folder: config.ini (the femagtools docs' example plus endpoint_url), the seed cloud_init.txt and
    parvar/<i>/femag.fsl for each entry of -Fsl (the fake xfemag reads '-- fake-femag:' lines).
    #>
    param(
        [Parameter(Mandatory)] $Cloud,
        [string[]] $Fsl = @('-- model 0', '-- model 1'),
        [string] $Extra = '',
        [int] $DeleteBuckets = 1,
        [string] $EndpointUrl = $Cloud.Endpoint
    )
    $root = New-TemporaryDirectory 'femag-ws-'
    Copy-Item (Join-Path $script:RepoRoot 'examples/cloud_init.txt') $root
    @"
[amazon]
iam_instance_profile = ecsInstanceRole
key_name = test-key-pair-eucentral-1
security_group_ids = sg-8475b5dd,
server_location = eu-central-1
instance_type = t2.small
image_id =  ami-6d4ceb03
cloud_init = ./cloud_init.txt
delete_buckets = $DeleteBuckets
endpoint_url = $EndpointUrl
$Extra
"@ | Set-Content -LiteralPath (Join-Path $root 'config.ini')
    for ($i = 0; $i -lt $Fsl.Count; $i++) {
        $folder = New-Item -ItemType Directory (Join-Path $root "parvar/$i")
        Set-Content -LiteralPath (Join-Path $folder 'femag.fsl') -Value $Fsl[$i]
    }
    Get-Item -LiteralPath $root
}

function Start-FreshPwsh {
    <#
    Starts a script in a new pwsh process, as 'pwsh -NoProfile -NonInteractive -File script.ps1 args...' would, and
    returns at once; Wait-FreshPwsh waits for it. Two of them run side by side.
    #>
    param(
        [Parameter(Mandatory)] [string] $Script,
        [string[]] $ArgumentList = @(),
        [string] $WorkingDirectory = (Get-Location).Path,
        [hashtable] $Environment = @{}
    )
    $file = Join-Path ([IO.Path]::GetTempPath()) ("femag-pester-$([guid]::NewGuid().ToString('N')).ps1")
    Set-Content -LiteralPath $file -Value $Script
    try {
        $start = [Diagnostics.ProcessStartInfo]::new($script:PwshPath)
        foreach ($arg in @('-NoProfile', '-NonInteractive', '-File', $file) + $ArgumentList) { $start.ArgumentList.Add($arg) }
        $start.WorkingDirectory = $WorkingDirectory
        $start.RedirectStandardOutput = $true
        $start.RedirectStandardError = $true
        $start.UseShellExecute = $false
        # The build's module folder first, so 'FemagAws' auto-loads from out/ with no Import-Module.
        $start.Environment['PSModulePath'] = $script:ModuleRoot + [IO.Path]::PathSeparator + $env:PSModulePath
        foreach ($key in $Environment.Keys) {
            if ($null -eq $Environment[$key]) { [void]$start.Environment.Remove($key) } else { $start.Environment[$key] = [string]$Environment[$key] }
        }
        $process = [Diagnostics.Process]::Start($start)
        [pscustomobject]@{ Process = $process; File = $file; Stderr = $process.StandardError.ReadToEndAsync(); Stdout = $process.StandardOutput.ReadToEndAsync() }
    }
    catch {
        Remove-Item -LiteralPath $file -ErrorAction Ignore
        throw
    }
}

function Wait-FreshPwsh {
    <# Waits for a Start-FreshPwsh process; returns Output (the lines of stdout and stderr), ExitCode and Text (the lines joined). #>
    param([Parameter(Mandatory)] $Started, [int] $TimeoutSeconds = 300)
    try {
        $process = $Started.Process
        if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
            $process.Kill($true)
            throw "pwsh did not end within $TimeoutSeconds s:`n$($Started.Stdout.Result)"
        }
        $process.WaitForExit()
        $lines = @(($Started.Stdout.Result + $Started.Stderr.Result) -split '\r?\n' | Where-Object { $_ -ne '' })
        [pscustomobject]@{ Output = $lines; ExitCode = $process.ExitCode; Text = $lines -join "`n" }
    }
    finally {
        Remove-Item -LiteralPath $Started.File -ErrorAction Ignore
    }
}

function Invoke-FreshPwsh {
    <#
    Runs a script in a new pwsh process, as 'pwsh -NoProfile -NonInteractive -File script.ps1 args...' would.
    Returns Output (the lines of stdout and stderr), ExitCode and Text (the lines joined).
    #>
    param(
        [Parameter(Mandatory)] [string] $Script,
        [string[]] $ArgumentList = @(),
        [string] $WorkingDirectory = (Get-Location).Path,
        [hashtable] $Environment = @{},
        [int] $TimeoutSeconds = 300
    )
    $started = Start-FreshPwsh -Script $Script -ArgumentList $ArgumentList -WorkingDirectory $WorkingDirectory -Environment $Environment
    Wait-FreshPwsh $started -TimeoutSeconds $TimeoutSeconds
}

function Get-CloudInstance {
    <# The local cloud's instances as the aws CLI sees them: InstanceId, State, Tags (hashtable). #>
    param([Parameter(Mandatory)] $Cloud, [string] $Region = 'eu-central-1')
    $json = aws --endpoint-url $Cloud.Endpoint --region $Region ec2 describe-instances --output json | ConvertFrom-Json
    foreach ($instance in $json.Reservations.Instances) {
        $tags = @{}
        foreach ($tag in $instance.Tags) { $tags[$tag.Key] = $tag.Value }
        [pscustomobject]@{ InstanceId = $instance.InstanceId; State = $instance.State.Name; Tags = $tags }
    }
}

function Get-CloudBucket {
    <# The names of the local cloud's buckets. #>
    param([Parameter(Mandatory)] $Cloud)
    (aws --endpoint-url $Cloud.Endpoint --region eu-central-1 s3api list-buckets --output json | ConvertFrom-Json).Buckets.Name
}

function Stop-CloudInstance {
    <# Terminates every instance still alive, so the next test starts with an idle cloud. #>
    param([Parameter(Mandatory)] $Cloud, [string] $Region = 'eu-central-1')
    $live = @(Get-CloudInstance $Cloud -Region $Region | Where-Object State -NotIn 'terminated', 'shutting-down' | ForEach-Object InstanceId)
    if ($live) { aws --endpoint-url $Cloud.Endpoint --region $Region ec2 terminate-instances --instance-ids @live | Out-Null }
}

Export-ModuleMember -Function Get-RepoRoot, Get-PwshPath, Start-TestCloud, Stop-TestCloud, New-TemporaryDirectory,
    New-TestWorkspace, Start-FreshPwsh, Wait-FreshPwsh, Invoke-FreshPwsh, Get-CloudInstance, Get-CloudBucket, Stop-CloudInstance
