<#
.SYNOPSIS
Starts and stops tools/localcloud from pwsh: moto on 127.0.0.1 plus the instance runner that runs user data.

.DESCRIPTION
Used by examples/run-local.ps1 and the Pester suite. The cloud stops when its stdin closes, so it never outlives the
pwsh process that started it.
#>

function Start-LocalCloud {
    <#
    Starts a local cloud on -Port (0: any free port); returns Endpoint, Sandbox and Process. -SpotPrice entries are
    localcloud.py's --spot-price values ([ZONE:]TYPE=USD[@+SECONDS|@ISO-TIME]).
    #>
    param([int] $Port = 0, [string[]] $SpotPrice = @())
    $sandbox = (New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) ('femag-cloud-' + [guid]::NewGuid().ToString('N').Substring(0, 8)))).FullName
    $start = [Diagnostics.ProcessStartInfo]::new('python3')
    foreach ($arg in (Join-Path $PSScriptRoot 'localcloud.py'), '--sandbox', $sandbox, '--port', $Port,
        '--key-pair', 'test-key-pair-eucentral-1', '--instance-profile', 'ecsInstanceRole', '--security-group', 'sg-8475b5dd') {
        $start.ArgumentList.Add($arg)
    }
    foreach ($price in $SpotPrice) {
        $start.ArgumentList.Add('--spot-price')
        $start.ArgumentList.Add($price)
    }
    $start.RedirectStandardInput = $true
    $start.RedirectStandardOutput = $true
    $start.UseShellExecute = $false
    $process = [Diagnostics.Process]::Start($start)
    $ready = $process.StandardOutput.ReadLineAsync()
    if (-not $ready.Wait([TimeSpan]::FromSeconds(60)) -or "$($ready.Result)" -notlike 'READY *') {
        $process.Kill($true)
        Remove-Item -Recurse -Force $sandbox -ErrorAction Ignore
        throw "The local cloud did not start: $($ready.Result)"
    }

    [pscustomobject]@{
        Endpoint = $ready.Result.Substring(6).Trim()
        Sandbox  = $sandbox
        Process  = $process
    }
}

function Stop-LocalCloud {
    <# Stops a cloud from Start-LocalCloud: its instances' processes end with it. #>
    param($Cloud)
    if (-not $Cloud) { return }
    $Cloud.Process.StandardInput.Close()
    if (-not $Cloud.Process.WaitForExit(10000)) { $Cloud.Process.Kill($true) }
    Remove-Item -Recurse -Force $Cloud.Sandbox -ErrorAction Ignore
}

Export-ModuleMember -Function Start-LocalCloud, Stop-LocalCloud
