# Export-FemagReport as a person sees it: the report of a real run and of 1,000 saved jobs, opened in headless Chromium.
# The pages Chromium rendered (the DOM after the report's script ran) must hold every job, in the table and on the
# timeline; the screenshots go to out/test-results for a person to look at.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestCloud.psm1') -Force
    $script:Chromium = '/usr/bin/chromium'
    if (-not (Test-Path $Chromium)) { throw "$Chromium is missing: install it with 'apt-get install -y chromium' (build.ps1 Test does that where apt-get exists)." }
    # Spot instances are priced from the local cloud's Spot price history, On-Demand ones from -PricePerHour.
    $script:Cloud = Start-TestCloud -SpotPrice 't2.small=0.0069'
    $script:Results = New-Item -ItemType Directory -Force (Join-Path (Get-RepoRoot) 'out/test-results')

    function script:Invoke-Chromium([string] $Page, [string] $Screenshot) {
        <# Renders the page in headless Chromium, cut off from the network; returns the DOM after its script ran. #>
        $uri = [Uri]::new($Page, [UriKind]::Absolute).AbsoluteUri
        # No host name resolves (--host-resolver-rules), so a page that needed the network would show broken.
        $flags = '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--host-resolver-rules=MAP * ~NOTFOUND',
            '--disable-component-update', '--disable-sync'
        $dom = & $Chromium @flags "--user-data-dir=$(New-TemporaryDirectory 'femag-chromium-')" --dump-dom $uri 2>$null
        $LASTEXITCODE | Should -Be 0 -Because 'chromium --dump-dom must load the page'
        if ($Screenshot) {
            & $Chromium @flags "--user-data-dir=$(New-TemporaryDirectory 'femag-chromium-')" "--screenshot=$Screenshot" '--window-size=1400,1000' $uri 2>$null | Out-Null
            $Screenshot | Should -Exist
            Write-Host "Screenshot: $Screenshot"
        }
        $dom -join "`n"
    }

    function script:Get-TableRow([string] $Dom) {
        # Each job's row: index, state and the exit-code cell (the fourth).
        [regex]::Matches($Dom, '<tr data-job="(\d+)" data-state="(\w+)"[^>]*>(?:<td[^>]*>[^<]*</td>){3}<td[^>]*>([^<]*)</td>') |
            ForEach-Object { [pscustomobject]@{ Index = [int]$_.Groups[1].Value; State = $_.Groups[2].Value; Exit = $_.Groups[3].Value } }
    }

    function script:Get-Text([string] $Dom, [string] $Element, [string] $Id) {
        # The text of the element with that id, not the whole page, so a failure shows what differs.
        [regex]::Match($Dom, "<$Element id=""$Id"">([^<]*)</$Element>").Groups[1].Value
    }

    function script:Get-TimelineBar([string] $Dom) {
        [regex]::Matches($Dom, '<div class="bar [^"]*" data-job="(\d+)" data-attempt="(\d+)" data-outcome="(\w+)"') |
            ForEach-Object { [pscustomobject]@{ Index = [int]$_.Groups[1].Value; Attempt = [int]$_.Groups[2].Value; Outcome = $_.Groups[3].Value } }
    }
}

AfterAll {
    Stop-CloudInstance $script:Cloud
    Stop-TestCloud $script:Cloud
}

Describe 'Export-FemagReport' {
    It 'shows a real run in Chromium: a success, exit code 3, a lost Spot instance relaunched, and two jobs of a pool' {
        $single = New-TestWorkspace $Cloud -Extra 'spot = 1' -Fsl '-- model 0', "-- model 1`n-- fake-femag: exit 3", "-- model 2`n-- fake-femag: sleep 15"
        $pool = New-TestWorkspace $Cloud -Extra "pool_size = 1`nslots_per_instance = 2" -Fsl "-- model 0`n-- fake-femag: sleep 3", "-- model 1`n-- fake-femag: sleep 2"
        $pipeline = @'
Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance |
    Wait-FemagJob -PollInterval 1 -SettleTime 1 -PricePerHour @{ 't2.small' = 0.023 } -WarningAction SilentlyContinue -OutVariable jobs | Out-Null
# Saved once the wait has ended, when each job has its billed seconds and cost.
$jobs | Export-Clixml jobs.xml
'@
        $runs = (Start-FreshPwsh -WorkingDirectory $single.FullName -Script $pipeline), (Start-FreshPwsh -WorkingDirectory $pool.FullName -Script $pipeline)

        # Job 2's instance is reclaimed as EC2 reclaims a Spot instance: Wait-FemagJob launches it again.
        $lost = $null
        $deadline = (Get-Date).AddSeconds(120)
        while (-not $lost -and (Get-Date) -lt $deadline) {
            Start-Sleep -Milliseconds 300
            $lost = Get-CloudInstance $Cloud | Where-Object { $_.Tags['femag-aws:bucket'] -like '*-2' -and $_.State -eq 'running' } | Select-Object -First 1
        }
        $lost | Should -Not -BeNullOrEmpty -Because 'job 2 needs a running instance to lose'
        Write-Host "Terminating $($lost.InstanceId), the instance of job 2"
        aws --endpoint-url $Cloud.Endpoint --region eu-central-1 ec2 terminate-instances --instance-ids $lost.InstanceId | Out-Null
        foreach ($run in $runs) { $done = Wait-FreshPwsh $run; $done.ExitCode | Should -Be 0 -Because $done.Text }

        # From another folder, in a fresh session: -Path is taken from PowerShell's location, not the process's.
        $reports = New-TemporaryDirectory 'femag-report-'
        $report = Invoke-FreshPwsh -ArgumentList $reports, (Join-Path $single 'jobs.xml'), (Join-Path $pool 'jobs.xml') -Script @'
param($Reports, $Single, $Pool)
Set-Location $Reports
$jobs = @(Import-Clixml $Single) + @(Import-Clixml $Pool)
$jobs | Sort-Object Index | ForEach-Object { "JOB $($_.Index) $($_.State) $($_.ExitCode) $($_.Attempt) $($_.BilledSeconds) $($_.Cost) $($_.Runs -join '; ')" }
$file = $jobs | Export-FemagReport -Path run.html -Title 'Report test' -PassThru
"FILE $($file.GetType().Name) $($file.FullName) $($file.Length)"
# Nothing piped in: an error that says so, and the report already written is kept.
@() | Export-FemagReport -Path run.html -ErrorVariable noJobs -ErrorAction SilentlyContinue
"NOJOBS $($noJobs[0].FullyQualifiedErrorId) $($noJobs[0].CategoryInfo.Category) $((Get-Item run.html).Length)"
$jobs | Export-FemagReport -Path run.html -NoClobber -ErrorVariable kept -ErrorAction SilentlyContinue
"NOCLOBBER $($kept[0].FullyQualifiedErrorId) $($kept[0].CategoryInfo.Category)"
$jobs | Export-FemagReport -Path missing/run.html -ErrorVariable missing -ErrorAction SilentlyContinue
"MISSING $($missing[0].FullyQualifiedErrorId) $($missing[0].CategoryInfo.Category)"
$jobs | Export-FemagReport -Path whatif.html -WhatIf
"WHATIF $(Test-Path whatif.html)"
'@
        $report.ExitCode | Should -Be 0 -Because $report.Text
        $page = Join-Path $reports 'run.html'
        $size = (Get-Item $page).Length
        $report.Output | Should -Contain "FILE FileInfo $page $size"
        $report.Output | Should -Contain "NOJOBS FemagReportNoJobs,FemagAws.Commands.ExportFemagReportCommand InvalidArgument $size"
        $report.Output | Should -Contain 'NOCLOBBER FemagReportExists,FemagAws.Commands.ExportFemagReportCommand ResourceExists'
        $report.Output | Should -Contain 'MISSING FemagReportFolderMissing,FemagAws.Commands.ExportFemagReportCommand ObjectNotFound'
        $report.Output | Should -Contain 'WHATIF False'
        $report.Text | Should -Match 'What if: .*whatif\.html'
        Write-Host ($report.Output -match '^JOB ' -join "`n")

        $screenshot = Join-Path $Results 'report.png'
        $dom = Invoke-Chromium $page $screenshot
        [regex]::Match($dom, '<title>([^<]*)</title>').Groups[1].Value | Should -Be 'Report test'
        Get-Text $dom span shown | Should -Be '5 of 5 shown.' -Because "the report's script ran"
        $rows = @(Get-TableRow $dom)
        ($rows | ForEach-Object { "$($_.Index) $($_.State) $($_.Exit)" }) -join ', ' |
            Should -Be '0 Succeeded 0, 0 Succeeded 0, 1 Failed 3, 1 Succeeded 0, 2 Succeeded 0'
        $bars = @(Get-TimelineBar $dom)
        ($bars | Sort-Object Index, Attempt, Outcome | ForEach-Object { "$($_.Index):$($_.Attempt):$($_.Outcome)" }) -join ', ' |
            Should -Be '0:1:Succeeded, 0:1:Succeeded, 1:1:Failed, 1:1:Succeeded, 2:1:Lost, 2:2:Succeeded'
        Get-Text $dom p summary | Should -BeLike '5 jobs: 4 succeeded, 1 failed; *'
        # Every job was billed and priced, Spot from the price history and On-Demand (the pool's) from -PricePerHour.
        @($report.Output -match '^JOB ' | Where-Object { ($_ -split ' ')[5, 6] -notmatch '^\d+(\.\d+)?$' }) | Should -BeNullOrEmpty
        $summary = Get-Text $dom p summary
        $summary | Should -Match 't2\.small Spot [0-9.]+ \(\$[0-9.]+\)'
        $summary | Should -Match 't2\.small On-Demand [0-9.]+ \(\$[0-9.]+\)'
        $summary | Should -Match '; cost \$[0-9.]+$'
        # One row per instance: the pool instance's row holds both of its jobs, in two lanes as its two slots overlapped.
        $perInstance = [regex]::Matches($dom, '(?s)<div class="row" data-instance="([^"]+)">(.*?)</div></div>\n') |
            ForEach-Object { [regex]::Matches($_.Groups[2].Value, 'class="bar ').Count }
        ($perInstance | Sort-Object) -join ',' | Should -Be '1,1,1,1,2'
        [regex]::Matches($dom, 'top:11px').Count | Should -Be 1 -Because 'one bar lies in a second lane'
        # Each job's folder is a link to it.
        foreach ($folder in (Get-ChildItem (Join-Path $single parvar), (Join-Path $pool parvar) -Directory).FullName) {
            $dom.Contains("href=`"$([Uri]::new($folder).AbsoluteUri)`"") | Should -BeTrue -Because "$folder is linked"
        }
        Write-Host "Report: $page, $size bytes"
    }

    It 'renders all of 1,000 saved jobs, each on an instance of its own' {
        $work = New-TemporaryDirectory 'femag-report-1000-'
        $saved = Join-Path $work 'jobs.xml'
        # Saved jobs made as a long run leaves them: Export-Clixml of the module's own job objects, read back by Import-Clixml.
        $make = Invoke-FreshPwsh -ArgumentList $saved -Script @'
param($Saved)
$ErrorActionPreference = 'Stop'
$jobType = (Get-Command Wait-FemagJob).OutputType[0].Type
$runType = $jobType.Assembly.GetType('FemagAws.Insight.JobRun')
$state = $jobType.GetProperty('State')
$start = [datetime]::new(2026, 12, 6, 8, 0, 0, [DateTimeKind]::Utc)
$jobs = foreach ($i in 0..999) {
    $job = [Activator]::CreateInstance($jobType)
    $job.Index = $i; $job.BucketName = "926c39a7-db69-42f8-bf86-2fd1f8559188-$i"; $job.Folder = "/home/femag/w6 <&>/parvar/$i"
    $job.InstanceType = 'c5.xlarge'; $job.Lifecycle = 'spot'; $job.Attempt = 1
    $run = [Activator]::CreateInstance($runType)
    $run.Attempt = 1; $run.InstanceId = 'i-{0:x17}' -f $i; $run.InstanceType = 'c5.xlarge'; $run.Lifecycle = 'spot'
    $run.Start = $start.AddSeconds(3 * $i); $run.End = $run.Start.AddSeconds(600 + $i % 97)
    $failed = $i % 25 -eq 7
    $run.Outcome = if ($failed) { 'Failed' } else { 'Succeeded' }
    $job.Runs.Add($run)
    $job.InstanceId = $run.InstanceId; $job.LaunchTime = $run.Start; $job.FinishTime = $run.End
    $job.ExitCode = if ($failed) { 1 } else { 0 }
    $job.Reason = if ($failed) { "FEMAG returned exit code 1 <see femag.log>" } else { $null }
    $job.BilledSeconds = ($run.End - $run.Start).TotalSeconds; $job.Cost = [decimal]0.0002 * $i
    $state.SetValue($job, [Enum]::Parse($state.PropertyType, $(if ($failed) { 'Failed' } else { 'Succeeded' })))
    $job
}
$jobs | Export-Clixml $Saved
'@
        $make.ExitCode | Should -Be 0 -Because $make.Text

        $page = Join-Path $work 'w6.html'
        $export = Invoke-FreshPwsh -ArgumentList $saved, $page -Script @'
param($Saved, $Page)
$ErrorActionPreference = 'Stop'
$took = Measure-Command { Import-Clixml $Saved | Export-FemagReport -Path $Page }
"EXPORTED $([math]::Round($took.TotalSeconds, 1))"
'@
        $export.ExitCode | Should -Be 0 -Because $export.Text
        $took = [Diagnostics.Stopwatch]::StartNew()
        $dom = Invoke-Chromium $page (Join-Path $Results 'report-1000.png')
        $took.Stop()

        $rows = @(Get-TableRow $dom)
        ($rows.Index | Sort-Object) -join ',' | Should -Be ((0..999) -join ',')
        @($rows | Where-Object State -eq Failed).Count | Should -Be 40
        @($rows | Where-Object { $_.State -eq 'Failed' -and $_.Exit -ne '1' }) | Should -BeNullOrEmpty
        (@(Get-TimelineBar $dom).Index | Sort-Object) -join ',' | Should -Be ((0..999) -join ',')
        Get-Text $dom span shown | Should -Be '1000 of 1000 shown.'
        $dom.Contains('<see femag') | Should -BeFalse -Because 'reasons are escaped'

        # The table's script in the browser: show the failed jobs only, then sort by index twice (descending).
        $clicked = Join-Path $work 'w6-clicked.html'
        (Get-Content -Raw $page).Replace('</body>', @'
<script>
var st = document.getElementById('state'); st.value = 'Failed'; st.dispatchEvent(new Event('change'));
var index = document.querySelector('#jobs th'); index.click(); index.click();
document.body.dataset.first = document.querySelector('#jobs tbody tr').dataset.job;
</script></body>
'@) | Set-Content -LiteralPath $clicked
        $dom = Invoke-Chromium $clicked
        Get-Text $dom span shown | Should -Be '40 of 1000 shown.'
        [regex]::Match($dom, '<body data-first="(\d+)"').Groups[1].Value | Should -Be '999'
        @([regex]::Matches($dom, '<tr data-job="\d+" data-state="Succeeded" class="s-Succeeded" hidden="">')).Count | Should -Be 960
        @([regex]::Matches($dom, '<tr data-job="\d+" data-state="Failed" class="s-Failed">')).Count | Should -Be 40
        Write-Host ("1,000 jobs: {0:N0} bytes; exported in {1} s; rendered by Chromium (dump and screenshot) in {2:0.0} s" -f (Get-Item $page).Length, (($export.Output -match '^EXPORTED ')[0] -replace '^EXPORTED '), $took.Elapsed.TotalSeconds)
    }
}
