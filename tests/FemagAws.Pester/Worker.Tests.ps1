# The pool's worker (src/FemagAws.Core/Runners/Pool/worker.sh) on local instances, driven directly with the aws CLI,
# without the module: queues, job buckets and messages in the pool protocol's format, instances whose user data is
# the env header plus the worker. All pools start in BeforeAll and run side by side; each It waits for its outcome.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestCloud.psm1') -Force
    $script:Cloud = Start-TestCloud
    $script:Repo = Get-RepoRoot
    $script:Temp = New-TemporaryDirectory 'femag-worker-'

    function script:Invoke-Aws {
        $out = aws --endpoint-url $Cloud.Endpoint --region eu-central-1 @args
        if ($LASTEXITCODE) { throw "aws $args failed ($LASTEXITCODE): $out" }
        $out
    }

    function script:New-PoolQueue([string] $Name) {
        # As the protocol makes them: a dead-letter queue after 3 receives.
        $dead = Invoke-Aws sqs create-queue --queue-name "$Name-dead" --query QueueUrl --output text
        $arn = Invoke-Aws sqs get-queue-attributes --queue-url $dead --attribute-names QueueArn --query Attributes.QueueArn --output text
        $attributes = Join-Path $Temp "$Name.json"
        @{ VisibilityTimeout = '30'; RedrivePolicy = (@{ deadLetterTargetArn = $arn; maxReceiveCount = 3 } | ConvertTo-Json -Compress) } |
            ConvertTo-Json | Set-Content $attributes
        [pscustomobject]@{ Url = (Invoke-Aws sqs create-queue --queue-name $Name --attributes "file://$attributes" --query QueueUrl --output text); Dead = $dead }
    }

    function script:New-JobBucket([string] $Bucket, [string] $Fsl) {
        # A job's bucket as New-FemagBucket leaves it: the archive 0.tar.gz of a folder holding femag.fsl.
        $folder = New-Item -ItemType Directory (Join-Path $Temp $Bucket)
        Set-Content (Join-Path $folder 'femag.fsl') $Fsl
        tar -czf (Join-Path $Temp "$Bucket.tar.gz") -C $folder femag.fsl
        Invoke-Aws s3 mb "s3://$Bucket" | Out-Null
        Invoke-Aws s3 cp --quiet (Join-Path $Temp "$Bucket.tar.gz") "s3://$Bucket/0.tar.gz" | Out-Null
    }

    function script:Send-Job($Queue, [string] $Bucket, [string] $Script, [string] $MaxRuntime = '-') {
        # The message: v1 <bucket> <index> <max_runtime> <finish file> <base64 of the script with {{ENV}} expanded>.
        $env = "export BUCKET_NAME='$Bucket'`nexport SERVER_LOCATION='eu-central-1'`nexport FINISH_TASK_FILENAME='exit_code'`nexport EXPECTED_BUCKET_OWNER=''"
        $rendered = ($Script -replace '\r\n', "`n") -replace '(?m)^\{\{ENV\}\}.*$', $env
        $body = "v1 $Bucket 0 $MaxRuntime exit_code $([Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($rendered)))"
        Invoke-Aws sqs send-message --queue-url $Queue.Url --message-body $body | Out-Null
    }

    function script:Start-Worker($Queue, [int] $Slots, [int] $IdleSeconds = 8, [int] $VisibilitySeconds = 12, [string] $Owner = '123456789012') {
        # A pool instance: the env header, then the worker; short timings so the file runs in about a minute.
        # The local cloud's buckets belong to its default account, the owner the client names.
        $userData = Join-Path $Temp "user-data-$([guid]::NewGuid().ToString('N'))"
        $header = "#!/bin/bash`nexport QUEUE_URL='$($Queue.Url)'`nexport AWS_DEFAULT_REGION='eu-central-1'`nexport POOL_ID='p20261206043000-1a2b3c4d'`n" +
            "export SLOTS=$Slots`nexport IDLE_SECONDS=$IdleSeconds`nexport VISIBILITY_SECONDS=$VisibilitySeconds`nexport HEARTBEAT_SECONDS=4`n" +
            "export EXPECTED_BUCKET_OWNER='$Owner'`n"
        [IO.File]::WriteAllText($userData, $header + [IO.File]::ReadAllText((Join-Path $Repo 'src/FemagAws.Core/Runners/Pool/worker.sh')))
        Invoke-Aws ec2 run-instances --image-id ami-6d4ceb03 --instance-type t2.small --count 1 `
            --instance-initiated-shutdown-behavior terminate --user-data "file://$userData" --query 'Instances[0].InstanceId' --output text
    }

    function script:Get-Object([string] $Bucket, [string] $Key) {
        # The object's text, or $null while it is not there.
        $text = aws --endpoint-url $Cloud.Endpoint --region eu-central-1 s3 cp "s3://$Bucket/$Key" - 2>$null
        if ($LASTEXITCODE) { $null } else { $text -join "`n" }
    }

    function script:Get-Marker([string] $Bucket, [string] $Name) {
        # femag-aws/taken or ended as a hashtable of its key=value lines; ended's last lines in 'lines'.
        $text = Get-Object $Bucket "femag-aws/$Name"
        if ($null -eq $text) { return $null }
        $head, $tail = $text -split '\n--- last lines\n', 2
        $marker = @{ lines = "$tail" }
        foreach ($line in $head -split '\n') { $key, $value = $line -split '=', 2; $marker[$key] = $value }
        $marker
    }

    function script:Wait-Until([scriptblock] $Condition, [int] $TimeoutSeconds, [string] $What) {
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
        while (-not ($result = & $Condition)) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Not within $TimeoutSeconds s: $What" }
            Start-Sleep -Seconds 1
        }
        $result
    }

    function script:Get-InstanceProcess([string] $InstanceId) {
        # Live processes of a local instance: the runner gives each INSTANCE_ID in its environment.
        foreach ($process in Get-ChildItem /proc -Directory | Where-Object Name -Match '^\d+$') {
            try { $environ = [IO.File]::ReadAllText("/proc/$($process.Name)/environ") } catch { continue }
            if ($environ.Split([char]0) -contains "INSTANCE_ID=$InstanceId") {
                try { [IO.File]::ReadAllText("/proc/$($process.Name)/cmdline").Replace([char]0, ' ') } catch { }
            }
        }
    }

    function script:Get-QueueCount($Url) {
        $counts = Invoke-Aws sqs get-queue-attributes --queue-url $Url --attribute-names ApproximateNumberOfMessages ApproximateNumberOfMessagesNotVisible --output json | ConvertFrom-Json
        [int]$counts.Attributes.ApproximateNumberOfMessages + [int]$counts.Attributes.ApproximateNumberOfMessagesNotVisible
    }

    function script:Get-InstanceState([string] $InstanceId) { (Get-CloudInstance $Cloud | Where-Object InstanceId -EQ $InstanceId).State }

    $script:Seed = Get-Content -Raw (Join-Path $Repo 'examples/cloud_init.txt')
    $recommended = Get-Content -Raw (Join-Path $Repo 'examples/cloud_init_recommended.txt')
    $dies = "#!/bin/bash`n{{ENV}}`necho preparing `$BUCKET_NAME`necho 'no licence for xfemag' >&2`nexit 7`necho 0 > ~/exit_code`n"

    # Pool A, 2 slots: the recommended script (ends with shutdown -h now) beside the seed's (no shutdown, longer),
    # then a script that dies early, a withdrawn job and one whose bucket is gone.
    $script:QueueA = New-PoolQueue 'femag-aws-pool-a'
    New-JobBucket 'job-a1' "-- model a1`n-- fake-femag: sleep 2"
    New-JobBucket 'job-a2' "-- model a2`n-- fake-femag: sleep 10"
    New-JobBucket 'job-a3' '-- model a3'
    New-JobBucket 'job-a4' '-- model a4'
    Invoke-Aws s3 cp --quiet (Join-Path $Temp 'job-a4.tar.gz') 's3://job-a4/femag-aws/withdrawn' | Out-Null
    Send-Job $QueueA 'job-a1' $recommended
    Send-Job $QueueA 'job-a2' $Seed
    Send-Job $QueueA 'job-a3' $dies
    Send-Job $QueueA 'job-a4' $Seed
    Send-Job $QueueA 'job-a5-gone' $Seed
    $script:InstanceA = Start-Worker $QueueA -Slots 2

    # Pool B, 1 slot: a job over its max_runtime of 0.1 min (6 s).
    $script:QueueB = New-PoolQueue 'femag-aws-pool-b'
    New-JobBucket 'job-b1' "-- model b1`n-- fake-femag: sleep 300"
    Send-Job $QueueB 'job-b1' $Seed -MaxRuntime '0.1'
    $script:InstanceB = Start-Worker $QueueB -Slots 1

    # Pool E, 1 slot: a worker told that another account owns the job buckets, as if a bucket's name had been taken
    # over; S3 refuses each of its requests with 403, as it refuses a wrong expected bucket owner.
    $script:QueueE = New-PoolQueue 'femag-aws-pool-e'
    New-JobBucket 'job-e1' "-- model e1`n-- fake-femag: sleep 1"
    Send-Job $QueueE 'job-e1' $Seed
    $script:InstanceE = Start-Worker $QueueE -Slots 1 -Owner '999999999999'

    # Pool G, 1 slot: a job whose bucket already has ended (its worker died before deleting the message), a script
    # with '#!/bin/bash -e', and one that deletes its own bucket, so ended cannot be written. Idle longer than the
    # visibility timeout, so the last one's message comes back to this instance.
    $script:QueueG = New-PoolQueue 'femag-aws-pool-g'
    New-JobBucket 'job-g1' '-- model g1'
    Set-Content (Join-Path $Temp 'job-g1-ended') "status=0`nfinish=yes`nwhy=exit`ntime=2026-12-06T04:35:00Z`n--- last lines"
    Invoke-Aws s3 cp --quiet (Join-Path $Temp 'job-g1-ended') 's3://job-g1/femag-aws/ended' | Out-Null
    Invoke-Aws s3 cp --quiet (Join-Path $Temp 'job-g1-ended') 's3://job-g1/result.bin' | Out-Null
    New-JobBucket 'job-g2' '-- model g2'
    New-JobBucket 'job-g3' '-- model g3'
    Send-Job $QueueG 'job-g1' $Seed
    Send-Job $QueueG 'job-g2' "#!/bin/bash -e`n{{ENV}}`nfalse`necho 0 > ~/exit_code`n"
    Send-Job $QueueG 'job-g3' "#!/bin/bash`n{{ENV}}`naws s3 rb --force `"s3://`$BUCKET_NAME`"`n"
    $script:InstanceG = Start-Worker $QueueG -Slots 1 -IdleSeconds 25

    # Pool H, 1 slot: a job whose heartbeat fails (its script deletes the queue).
    $script:QueueH = New-PoolQueue 'femag-aws-pool-h'
    New-JobBucket 'job-h1' '-- model h1'
    Send-Job $QueueH 'job-h1' "#!/bin/bash`n{{ENV}}`naws sqs delete-queue --queue-url `"`$QUEUE_URL`"`nsleep 60`n"
    $script:InstanceH = Start-Worker $QueueH -Slots 1

}

AfterAll {
    Stop-CloudInstance $script:Cloud
    Stop-TestCloud $script:Cloud
}

Describe 'The pool worker' {
    It 'hands back the job of an instance terminated mid-job: a second instance takes it as attempt 2 from a cleared bucket' {
        # Pool C, 1 slot, the longest chain: first, while pools A and B run.
        $script:QueueC = New-PoolQueue 'femag-aws-pool-c'
        New-JobBucket 'job-c1' "-- model c1`n-- fake-femag: sleep 20"
        Send-Job $QueueC 'job-c1' $Seed
        $script:InstanceC = Start-Worker $QueueC -Slots 1
        $taken = Wait-Until { Get-Marker 'job-c1' taken } 60 'instance C takes job-c1'
        $taken.instance | Should -Be $InstanceC
        $taken.attempt | Should -Be '1'
        Wait-Until { Get-InstanceProcess $InstanceC | Where-Object { $_ -match '^sleep 20\s*$' } } 30 "job-c1's xfemag runs" | Out-Null
        Invoke-Aws s3 cp --quiet (Join-Path $Temp 'job-c1.tar.gz') 's3://job-c1/partial-of-attempt-1.bin' | Out-Null
        Invoke-Aws ec2 terminate-instances --instance-ids $InstanceC | Out-Null
        $terminated = [DateTime]::UtcNow
        # Everything of the instance dies with it, the job's own process group (setsid) included.
        Wait-Until { -not (Get-InstanceProcess $InstanceC) } 3 "no process of $InstanceC left" | Out-Null
        Get-QueueCount $QueueC.Url | Should -Be 1 -Because 'the message is hidden until its visibility timeout, not gone'

        # Idle longer than the visibility timeout, or D might give up before the job comes back.
        $script:InstanceD = Start-Worker $QueueC -Slots 1 -IdleSeconds 20
        $retaken = Wait-Until { $t = Get-Marker 'job-c1' taken; if ($t.attempt -eq '2') { $t } } 60 'instance D takes job-c1 as attempt 2'
        $retaken.instance | Should -Be $InstanceD
        ([DateTime]$retaken.time).ToUniversalTime() | Should -BeGreaterThan $terminated.AddSeconds(4) -Because 'the message comes back after its visibility timeout (12 s)'
        $ended = Wait-Until { Get-Marker 'job-c1' ended } 90 'job-c1 ends on instance D'
        $ended.status | Should -Be '0'
        $ended.finish | Should -Be 'yes'
        Get-Object 'job-c1' 'partial-of-attempt-1.bin' | Should -BeNullOrEmpty -Because 'the bucket was cleared back to its archive'
        Get-Object 'job-c1' '0.tar.gz' | Should -Not -BeNullOrEmpty
        Get-Object 'job-c1' 'femag.log' | Should -Match 'fake xfemag -b femag.fsl'
        Wait-Until { (Get-QueueCount $QueueC.Url) -eq 0 } 30 'the message deleted' | Out-Null
        Get-QueueCount $QueueC.Dead | Should -Be 0
    }

    It 'runs two jobs at once on one instance with 2 slots, in separate homes, and a shutdown in one ends only that job' {
        $a1 = Wait-Until { Get-Marker 'job-a1' ended } 90 'job-a1 ends'
        $a2 = Wait-Until { Get-Marker 'job-a2' ended } 90 'job-a2 ends'
        $taken1, $taken2 = (Get-Marker 'job-a1' taken), (Get-Marker 'job-a2' taken)
        $taken1.instance | Should -Be $InstanceA
        $taken2.instance | Should -Be $InstanceA
        (@($taken1.slot, $taken2.slot) | Sort-Object) -join ',' | Should -Be '1,2'
        [DateTime]$taken2.time | Should -BeLessThan ([DateTime]$a1.time) -Because 'both jobs ran at once'

        $a1.why | Should -Be 'shutdown' -Because 'the recommended script ends with shutdown -h now'
        $a1.finish | Should -Be 'yes'
        $a2.why | Should -Be 'exit'
        $a2.status | Should -Be '0'
        $a2.finish | Should -Be 'yes'
        [DateTime]$a2.time | Should -BeGreaterThan ([DateTime]$a1.time) -Because 'job-a2 went on after job-a1 shut down'
        foreach ($bucket in 'job-a1', 'job-a2') {
            $model = $bucket.Substring(4)
            # Each job saw only its own archive: the femag.fsl it ran and synced back is its own.
            Get-Object $bucket 'femag.fsl' | Should -Match "model $model"
            Get-Object $bucket 'femag.log' | Should -Match 'fake xfemag -b femag.fsl'
            Get-Object $bucket 'femag-aws/job.log' | Should -Match 'fake xfemag done, exit 0'
        }
        (Get-Object 'job-a1' 'exit_code').Trim() | Should -Be '0'
    }

    It 'records a script that dies early: ended with finish=no, its exit status and its last lines' {
        $ended = Wait-Until { Get-Marker 'job-a3' ended } 90 'job-a3 ends'
        $ended.status | Should -Be '7'
        $ended.finish | Should -Be 'no'
        $ended.why | Should -Be 'exit'
        $ended.lines | Should -Match 'no licence for xfemag'
        $ended.lines | Should -Match 'preparing job-a3'
        Get-Object 'job-a3' 'femag-aws/job.log' | Should -Match 'no licence for xfemag'
    }

    It 'ends a job over its max_runtime and all its processes' {
        $ended = Wait-Until { Get-Marker 'job-b1' ended } 60 'job-b1 ends'
        $ended.why | Should -Be 'max_runtime'
        $ended.finish | Should -Be 'no'
        $ended.status | Should -Be 'KILL'
        Get-InstanceProcess $InstanceB | Where-Object { $_ -match 'sleep 300' } | Should -BeNullOrEmpty
    }

    It 'skips a withdrawn job and one whose bucket is gone, deleting their messages' {
        Wait-Until { (Get-QueueCount $QueueA.Url) -eq 0 } 90 'queue A empty' | Out-Null
        Get-Object 'job-a4' 'femag-aws/taken' | Should -BeNullOrEmpty
        Get-Object 'job-a4' 'femag-aws/ended' | Should -BeNullOrEmpty
        Get-QueueCount $QueueA.Dead | Should -Be 0
        Get-Content -Raw (Join-Path $Cloud.Sandbox "$InstanceA/console.log") | Should -Match 'job-a5-gone: bucket gone'
    }

    It 'names the expected bucket owner in its S3 requests, so it never takes a job whose bucket another account owns' {
        $console = Join-Path $Cloud.Sandbox "$InstanceE/console.log"
        # The refusal is the aws CLI's message, on the line after the worker's.
        Wait-Until { (Get-Content -Raw -LiteralPath $console -ErrorAction Ignore) -match 'job-e1: cannot read the bucket[^\n]*\n[^\n]*AccessDenied' } 60 'instance E is refused job-e1' | Out-Null
        Get-Object 'job-e1' 'femag-aws/taken' | Should -BeNullOrEmpty
        Get-Object 'job-e1' 'femag-aws/ended' | Should -BeNullOrEmpty
        (Get-QueueCount $QueueE.Url) + (Get-QueueCount $QueueE.Dead) | Should -Be 1 -Because 'the message goes back to the queue, then to its dead-letter queue'
        Get-Content -Raw $console | Should -Not -Match 'job-e1: attempt \d started'
    }

    It 'skips a job that already ended without touching its bucket, runs a script by its shebang, and leaves a message whose ended it cannot write' {
        Wait-Until { (Get-QueueCount $QueueG.Url) -eq 0 } 120 'queue G empty' | Out-Null
        $console = Get-Content -Raw (Join-Path $Cloud.Sandbox "$InstanceG/console.log")
        $console | Should -Match 'job-g1: already ended, message deleted'
        Get-Object 'job-g1' 'femag-aws/taken' | Should -BeNullOrEmpty
        Get-Object 'job-g1' 'result.bin' | Should -Not -BeNullOrEmpty
        (Get-Marker 'job-g1' ended).time | Should -Be '2026-12-06T04:35:00Z'
        $e2 = Get-Marker 'job-g2' ended
        $e2.status | Should -Be '1' -Because 'bash -e from the shebang stops at false'
        $e2.finish | Should -Be 'no'
        $console | Should -Match 'job-g3: ended not written, the job goes back to the queue'
        $console | Should -Match 'job-g3: bucket gone, message deleted' -Because 'the message came back instead of being deleted'
        Get-QueueCount $QueueG.Dead | Should -Be 0
    }

    It 'ends a job whose heartbeat fails, so no second worker runs it beside the first' {
        $ended = Wait-Until { Get-Marker 'job-h1' ended } 60 'job-h1 ends'
        $ended.why | Should -Be 'heartbeat'
        $ended.status | Should -Be 'KILL'
        Get-InstanceProcess $InstanceH | Where-Object { $_ -match 'sleep 60' } | Should -BeNullOrEmpty
    }

    It 'terminates its instance once the queue stayed empty, leaving no job folder behind' {
        foreach ($instance in $InstanceA, $InstanceB, $InstanceD) {
            Wait-Until { (Get-InstanceState $instance) -eq 'terminated' } 60 "$instance terminates itself" | Out-Null
            Get-Content -Raw (Join-Path $Cloud.Sandbox "$instance/console.log") | Should -Match 'all slots idle: shutting down'
            Get-ChildItem (Join-Path $Cloud.Sandbox "$instance/home/femag-jobs") | Should -BeNullOrEmpty
        }
    }
}
