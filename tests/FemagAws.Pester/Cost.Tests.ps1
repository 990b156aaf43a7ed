# What a run cost: each job's Runs, BilledSeconds and Cost, and the summary line Wait-FemagJob ends with, against the
# local cloud with a Spot price history of its own (localcloud.py --spot-price) that changes during the first test.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestCloud.psm1') -Force
    # t2.small (the workspaces' type) costs 0.035 USD an hour on Spot until $SpotChange, then 0.07: the first test's
    # first instance bills across the change.
    $now = [DateTime]::UtcNow
    $script:SpotChange = [DateTime]::new($now.Ticks - $now.Ticks % [TimeSpan]::TicksPerSecond, 'Utc').AddSeconds(25)
    $script:SpotPrices = @(@{ From = [DateTime]::MinValue; Price = 0.035 }, @{ From = $SpotChange; Price = 0.07 })
    $script:Cloud = Start-TestCloud -SpotPrice 't2.small=0.035', "t2.small=0.07@$($SpotChange.ToString('yyyy-MM-ddTHH:mm:ssZ'))"

    # Each instance as EC2 tells it: what it bills, from launch to its state transition, at least 60 s.
    function script:Get-InstanceBill {
        $json = aws --endpoint-url $Cloud.Endpoint --region eu-central-1 ec2 describe-instances --output json | ConvertFrom-Json
        foreach ($instance in $json.Reservations.Instances) {
            $launch = if ($instance.LaunchTime -is [datetime]) { $instance.LaunchTime.ToUniversalTime() } else { [DateTimeOffset]::Parse($instance.LaunchTime).UtcDateTime }
            # An instance still running has no bill yet (null), which no sum below takes for one.
            $lifetime = if ($instance.StateTransitionReason -match '\((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (GMT|UTC)\)') {
                ([DateTime]::SpecifyKind([DateTime]::ParseExact($Matches[1], 'yyyy-MM-dd HH:mm:ss', [Globalization.CultureInfo]::InvariantCulture), 'Utc') - $launch).TotalSeconds
            }
            $tags = @{}
            foreach ($tag in $instance.Tags) { $tags[$tag.Key] = $tag.Value }
            [pscustomobject]@{
                InstanceId = $instance.InstanceId; Bucket = $tags['femag-aws:bucket']; Pool = $tags['femag-aws:pool']; State = $instance.State.Name
                Launch = $launch; Lifetime = $lifetime; Billed = if ($null -ne $lifetime) { [Math]::Max(60, $lifetime) }
            }
        }
    }

    # The Spot cost of a bill from the price history given to the cloud: each price holds until the next one.
    function script:Get-SpotCost($Bill) {
        $cost = 0.0
        $end = $Bill.Launch.AddSeconds($Bill.Billed)
        for ($i = 0; $i -lt $SpotPrices.Count; $i++) {
            $from = if ($SpotPrices[$i].From -gt $Bill.Launch) { $SpotPrices[$i].From } else { $Bill.Launch }
            $to = if ($i + 1 -lt $SpotPrices.Count -and $SpotPrices[$i + 1].From -lt $end) { $SpotPrices[$i + 1].From } else { $end }
            if ($to -gt $from) { $cost += $SpotPrices[$i].Price * ($to - $from).TotalSeconds / 3600 }
        }
        $cost
    }

    # Each job as one line: JOB <json>, and the summary line.
    $script:Report = @'
foreach ($job in $jobs) {
    'JOB ' + ($job | Select-Object Index, BucketName, @{ n = 'State'; e = { "$($_.State)" } }, PoolId, BilledSeconds, Cost,
        @{ n = 'Runs'; e = { @($_.Runs | ForEach-Object { @{ Attempt = $_.Attempt; InstanceId = $_.InstanceId; Outcome = "$($_.Outcome)"; Lifecycle = $_.Lifecycle; PoolId = $_.PoolId; Ended = $null -ne $_.End } }) } } |
        ConvertTo-Json -Compress -Depth 5)
}
foreach ($record in $info) { "INFO [$($record.Tags -join ',')] $($record.MessageData)" }
'@

    function script:Read-Job($Run) {
        @($Run.Output | Where-Object { $_ -like 'JOB *' } | ForEach-Object { $_.Substring(4) | ConvertFrom-Json })
    }

    function script:Read-Summary($Run) {
        @($Run.Output | Where-Object { $_ -like 'INFO `[FemagAws.Summary,PSHOST`] *' } | ForEach-Object { $_ -replace '^INFO \[FemagAws.Summary,PSHOST\] ' })
    }
}

AfterAll {
    Stop-CloudInstance $script:Cloud
    Stop-TestCloud $script:Cloud
}

Describe 'What a run cost' {
    It 'keeps both runs of a Spot job lost once, bills both instances and prices them from the Spot price history' {
        $ws = New-TestWorkspace $Cloud -Fsl "-- model 0`n-- fake-femag: sleep 10" -Extra "spot = 1`nmax_attempts = 2" -DeleteBuckets 0
        $saved = Join-Path $ws 'jobs.xml'
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -ArgumentList $saved -Script @'
param($Saved)
Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance | Export-Clixml $Saved
'@
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $bucket = (Import-Clixml $saved).BucketName

        # An interruption from outside, as EC2 reclaiming the Spot instance.
        for ($i = 0; $i -lt 100 -and -not $live; $i++) {
            $live = @(Get-CloudInstance $Cloud | Where-Object { $_.Tags['femag-aws:bucket'] -eq $bucket -and $_.State -eq 'running' })
            Start-Sleep -Milliseconds 200
        }
        $live | Should -HaveCount 1
        aws --endpoint-url $Cloud.Endpoint --region eu-central-1 ec2 terminate-instances --instance-ids $live[0].InstanceId | Out-Null

        # EC2 lists no price before its time: the wait that prices the instances starts once the change is history.
        while ([DateTime]::UtcNow -le $SpotChange) { Start-Sleep -Milliseconds 200 }

        $run = Invoke-FreshPwsh -ArgumentList $saved -Script (@'
param($Saved)
$jobs = Import-Clixml $Saved | Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 120 -InformationVariable info -WarningAction SilentlyContinue
'@ + "`n" + $Report)
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $job = Read-Job $run
        $job.State | Should -Be 'Succeeded' -Because $run.Text
        $job.Runs | Should -HaveCount 2
        $job.Runs[0].Attempt, $job.Runs[0].InstanceId, $job.Runs[0].Outcome, $job.Runs[0].Ended | Should -Be 1, $live[0].InstanceId, 'Lost', $true
        $job.Runs[1].Attempt, $job.Runs[1].Outcome, $job.Runs[1].Lifecycle, $job.Runs[1].Ended | Should -Be 2, 'Succeeded', 'spot', $true

        $bills = @(Get-InstanceBill | Where-Object Bucket -eq $bucket)
        $bills | Should -HaveCount 2
        foreach ($bill in $bills) { $bill.Billed | Should -Not -BeNullOrEmpty -Because "instance $($bill.InstanceId) ($($bill.State)) must have ended" }
        ($bills.InstanceId | Sort-Object) -join ',' | Should -Be (($job.Runs.InstanceId | Sort-Object) -join ',')
        $job.BilledSeconds | Should -Be ($bills | Measure-Object Billed -Sum).Sum
        $expected = ($bills | ForEach-Object { Get-SpotCost $_ } | Measure-Object -Sum).Sum
        [double] $job.Cost | Should -BeGreaterThan 0
        [Math]::Abs([double] $job.Cost - $expected) | Should -BeLessThan 1e-9 -Because "cost $($job.Cost), expected $expected from the price history"

        $summary = @(Read-Summary $run)
        $summary | Should -HaveCount 1 -Because $run.Text
        $summary[0] | Should -Match '^1 job: 1 succeeded, 0 failed; \d+\.\d\d instance-hours: t2\.small Spot \d+\.\d\d \(\$\d+\.\d{3,6}\); cost \$\d+\.\d{3,6}$'
        $summary[0] | Should -Match ([regex]::Escape(('{0:0.00} instance-hours' -f ($job.BilledSeconds / 3600))))
    }

    It 'bills a job on an instance of its own for its instance''s lifetime, priced from -PricePerHour, and counts a failed one' {
        $ws = New-TestWorkspace $Cloud -Fsl "-- model 0`n-- fake-femag: sleep 65", "-- model 1`n-- fake-femag: exit 3" -DeleteBuckets 0
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script (@'
$jobs = Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance |
    Wait-FemagJob -PollInterval 1 -SettleTime 1 -Timeout 240 -PricePerHour @{ 't2.small' = 0.023; 'c5.xlarge' = '0.192' } -InformationVariable info
'@ + "`n" + $Report)
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $jobs = @(Read-Job $run) | Sort-Object Index
        $jobs.State | Should -Be 'Succeeded', 'Failed'
        $bills = @(Get-InstanceBill)
        foreach ($job in $jobs) {
            $job.Runs | Should -HaveCount 1
            $bill = @($bills | Where-Object InstanceId -eq $job.Runs[0].InstanceId)
            $bill | Should -HaveCount 1
            $job.BilledSeconds | Should -Be $bill[0].Billed
            [Math]::Abs([double] $job.Cost - 0.023 * $job.BilledSeconds / 3600) | Should -BeLessThan 1e-12
        }
        $jobs[0].BilledSeconds | Should -BeGreaterThan 60 -Because 'the job ran over a minute'
        $jobs[0].BilledSeconds | Should -Be ($bills | Where-Object InstanceId -eq $jobs[0].Runs[0].InstanceId).Lifetime
        $jobs[1].BilledSeconds | Should -Be 60 -Because 'EC2 bills at least a minute'

        $summary = @(Read-Summary $run)
        $summary | Should -HaveCount 1 -Because $run.Text
        $summary[0] | Should -Match '^2 jobs: 1 succeeded, 1 failed; \d+\.\d\d instance-hours: t2\.small On-Demand \d+\.\d\d \(\$\d+\.\d{3,6}\); cost \$\d+\.\d{3,6}$'
        # Seen without -InformationAction, as Write-Host's text is.
        @($run.Output | Where-Object { $_ -ceq $summary[0] }) | Should -HaveCount 1 -Because $run.Text
    }

    It 'shares what a pool''s instances billed among its jobs, so they add up to it, and says when On-Demand has no price' {
        $ws = New-TestWorkspace $Cloud -Fsl @(0..3 | ForEach-Object { "-- model $_`n-- fake-femag: sleep $(2 * $_ + 2)" }) -Extra "pool_size = 2`nslots_per_instance = 1"
        $run = Invoke-FreshPwsh -WorkingDirectory $ws.FullName -Script (@'
$jobs = Get-ChildItem parvar -Directory | New-FemagBucket -ConfigFile config.ini | Start-FemagInstance |
    Wait-FemagJob -PollInterval 0.5 -SettleTime 1 -Timeout 240 -InformationVariable info
'@ + "`n" + $Report)
        $run.ExitCode | Should -Be 0 -Because $run.Text
        $jobs = @(Read-Job $run)
        $jobs | Should -HaveCount 4
        $jobs.State | Sort-Object -Unique | Should -Be 'Succeeded'
        $pool = $jobs[0].PoolId
        $pool | Should -Not -BeNullOrEmpty
        foreach ($job in $jobs) {
            $job.Runs | Should -HaveCount 1
            $job.Runs[0].PoolId, $job.Runs[0].Outcome | Should -Be $pool, 'Succeeded'
            $job.BilledSeconds | Should -BeGreaterThan 0
            $job.Cost | Should -BeNullOrEmpty
        }

        $bills = @(Get-InstanceBill | Where-Object Pool -eq $pool)
        $bills.Count | Should -BeIn 1, 2
        foreach ($bill in $bills) { $bill.Billed | Should -Not -BeNullOrEmpty -Because "instance $($bill.InstanceId) ($($bill.State)) must have ended" }
        $billed = ($bills | Measure-Object Billed -Sum).Sum
        [Math]::Abs(($jobs | Measure-Object BilledSeconds -Sum).Sum - $billed) | Should -BeLessThan 1e-6 -Because "the pool's instances billed $billed s"

        $summary = @(Read-Summary $run)
        $summary | Should -HaveCount 1 -Because $run.Text
        $summary[0] | Should -Match '^4 jobs: 4 succeeded, 0 failed; \d+\.\d\d instance-hours: t2\.small On-Demand \d+\.\d\d \(no price\); no price for t2\.small On-Demand$'
    }

    It 'refuses a -PricePerHour that is not instance types to US dollars before it waits for anything' -TestCases @(
        @{ Table = "@{ 'C5 Large' = 0.1 }" }
        @{ Table = "@{ 'c5.large' = 'cheap' }" }
        @{ Table = "@{ 'c5.large' = -1 }" }
    ) {
        param($Table)
        $run = Invoke-FreshPwsh -Script @"
try { @() | Wait-FemagJob -PricePerHour $Table -ErrorAction Stop; 'NO ERROR' }
catch { "ERROR `$(`$_.FullyQualifiedErrorId)" }
"@
        $run.Output | Should -Contain 'ERROR FemagBadPricePerHour,FemagAws.Commands.WaitFemagJobCommand' -Because $run.Text
    }
}
