using System;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using FemagAws.Jobs;

namespace FemagAws.Internal
{
    /// <summary>
    /// Base of every FemagAws cmdlet: error records, cancellation (Ctrl+C) with one account of the stop for the whole
    /// pipeline, and progress from worker tasks.
    /// </summary>
    public abstract class FemagCmdlet : PSCmdlet, IDisposable
    {
        /// <summary>
        /// One ledger per runspace: Ctrl+C stops the runspace's running pipeline together with any nested in it, so the
        /// FemagAws cmdlets alive in a runspace at a stop are those of the one pipeline, and they give one account.
        /// </summary>
        private static readonly ConditionalWeakTable<Runspace, StopLedger> Ledgers = new ConditionalWeakTable<Runspace, StopLedger>();

        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private StopLedger? _ledger;
        private DateTime _lastProgress = DateTime.MinValue;
        private int? _progressId;

        /// <summary>Cancelled when the user presses Ctrl+C or the pipeline stops.</summary>
        protected CancellationToken Cancellation => _stop.Token;

        /// <summary>A progress id per cmdlet call, so bars of a pipeline's cmdlets do not overwrite each other.</summary>
        protected int ProgressId => _progressId ??= (GetHashCode() & 0x3FFF) + 1;

        /// <summary>How long a stopped cmdlet waits for its cancelled work to clean up after itself.</summary>
        protected static readonly TimeSpan CleanupTime = TimeSpan.FromSeconds(45);

        private bool _stopHandled;

        /// <summary>Where this cmdlet enters, when stopped, what it leaves in the cloud.</summary>
        protected StopLedger Ledger => _ledger ??= JoinLedger();

        /// <summary>Joins the pipeline's ledger as the cmdlet begins, so the account waits for this cmdlet's entries.</summary>
        protected override void BeginProcessing() => _ledger ??= JoinLedger();

        private StopLedger JoinLedger()
        {
            var runspace = Runspace.DefaultRunspace;
            var ledger = runspace == null ? new StopLedger() : Ledgers.GetValue(runspace, _ => new StopLedger());
            ledger.Join(this);
            return ledger;
        }

        public void Dispose()
        {
            try
            {
                // A stop, or a terminating error, may end the pipeline while work still runs: cancel it and clean up here.
                // Stopping: PowerShell may dispose a stopped pipeline's commands before it has called their StopProcessing.
                if (Cancellation.IsCancellationRequested || Stopping || HasWorkInFlight)
                {
                    StopWork();
                    HandleStop();
                }
            }
            finally
            {
                // PowerShell disposes every command of a pipeline as it ends, so the last to leave has every other's
                // entries. Leaving even after a failed clean-up keeps the next pipeline's account from waiting for this one.
                var account = _ledger?.Leave(this);
                if (account != null)
                {
                    WarnAfterStop(StopAccountText.Of(account, PowerShellCommands.Instance));
                }

                Dispose(true);
                GC.SuppressFinalize(this);
            }
        }

        protected virtual void Dispose(bool disposing)
        {
            if (disposing)
            {
                _stop.Dispose();
            }
        }

        protected override void StopProcessing() => StopWork();

        /// <summary>True while work started by the cmdlet has not been handed on; overridden by the cmdlets with a queue.</summary>
        protected virtual bool HasWorkInFlight => false;

        private void StopWork()
        {
            try
            {
                _stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // StopProcessing after the cmdlet was disposed: nothing runs any more.
            }
        }

        /// <summary>
        /// Runs once after Ctrl+C, on the pipeline thread or in Dispose: settle cancelled work and enter in
        /// <see cref="Ledger"/> what was left in the cloud. The pipeline no longer takes output; the account is told once,
        /// for the whole pipeline.
        /// </summary>
        protected virtual void OnStopped()
        {
        }

        /// <summary>Shows the pipeline's one account after Ctrl+C, when the pipeline's own streams are closed.</summary>
        private void WarnAfterStop(string message)
        {
            try
            {
                Host.UI.WriteWarningLine(message);
            }
            catch (Exception ex) when (ex is PipelineStoppedException || ex is NotImplementedException || ex is InvalidOperationException)
            {
                // A host without a UI: nothing else can carry the message.
            }
        }

        /// <summary>Ends the call after Ctrl+C, cleaning up first.</summary>
        private PipelineStoppedException Stopped()
        {
            HandleStop();
            return new PipelineStoppedException();
        }

        private void HandleStop()
        {
            if (_stopHandled)
            {
                return;
            }

            _stopHandled = true;
            OnStopped();
        }

        /// <summary>Waits on the pipeline thread for work started with <see cref="Cancellation"/>.</summary>
        protected T Await<T>(Task<T> task)
        {
            // Wakes now and then, so that what the work meets on its way can be shown while it still runs.
            while (Task.WaitAny(new Task[] { task }, PollTime) < 0)
            {
                WhileWaiting();
            }

            WhileWaiting();
            try
            {
                return task.GetAwaiter().GetResult();
            }
            catch (Exception) when (Cancellation.IsCancellationRequested)
            {
                // Whatever the work ended with after Ctrl+C, the stop is what happened.
                throw Stopped();
            }
        }

        /// <summary>How often a cmdlet waiting for its work looks up.</summary>
        private static readonly TimeSpan PollTime = TimeSpan.FromMilliseconds(250);

        /// <summary>Runs on the pipeline thread while the cmdlet waits for its work, about four times a second.</summary>
        protected virtual void WhileWaiting()
        {
        }

        /// <summary>Sleeps, waking at once on Ctrl+C.</summary>
        protected void Sleep(TimeSpan time)
        {
            if (Cancellation.WaitHandle.WaitOne(time))
            {
                throw Stopped();
            }
        }

        protected void ThrowIfStopping()
        {
            if (Cancellation.IsCancellationRequested)
            {
                throw Stopped();
            }
        }

        /// <summary>
        /// ShouldProcess that -Force answers without asking, as AWS Tools does, so a script can confirm a high-impact
        /// action; -WhatIf still wins over -Force.
        /// </summary>
        protected bool ShouldProcess(string target, string action, bool force)
        {
            var whatIf = MyInvocation.BoundParameters.TryGetValue("WhatIf", out var bound)
                ? LanguagePrimitives.IsTrue(bound)
                : LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference"));
            return (force && !whatIf) || ShouldProcess(target, action);
        }

        /// <summary>Writes a failure as a non-terminating error record; a stop request ends the pipeline instead.</summary>
        protected void WriteFailure(Exception ex, object? target)
        {
            if (Cancellation.IsCancellationRequested)
            {
                throw Stopped();
            }

            WriteError(ErrorRecords.From(ex, target));
        }

        /// <summary>Runs set-up that the whole call depends on (config, credentials); its failure ends the call.</summary>
        protected T OrTerminate<T>(Func<T> setUp, object? target)
        {
            try
            {
                return setUp();
            }
            catch (FemagException ex)
            {
                ThrowTerminatingError(ErrorRecords.From(ex, target));
                throw; // not reached: ThrowTerminatingError always throws
            }
        }

        /// <summary>
        /// Hands finished work from a queue to <paramref name="emit"/>, or writes its error and then hands it to
        /// <paramref name="failed"/> where given; optionally waits for all of it.
        /// </summary>
        protected void Drain<TInput, TResult>(WorkQueue<TInput, TResult> queue, bool all, string activity, Action<WorkItem<TInput, TResult>> emit,
            Action<WorkItem<TInput, TResult>>? failed = null)
        {
            do
            {
                var wait = all || queue.IsFull ? PollTime : TimeSpan.Zero;
                var finished = queue.TakeFinished(wait, Cancellation);
                WhileWaiting();
                for (var i = 0; i < finished.Count; i++)
                {
                    // Work taken but not handed on goes back to the queue before the stop's clean-up (OnStopped) runs.
                    if (Cancellation.IsCancellationRequested)
                    {
                        queue.Requeue(finished.Skip(i));
                        throw Stopped();
                    }

                    try
                    {
                        if (finished[i].Error != null)
                        {
                            WriteError(ErrorRecords.From(finished[i].Error!, finished[i].Input));
                            failed?.Invoke(finished[i]);
                        }
                        else
                        {
                            emit(finished[i]);
                        }
                    }
                    catch (PipelineStoppedException)
                    {
                        // The pipeline ended downstream, with or without Ctrl+C: cancel the rest and clean up now.
                        queue.Requeue(finished.Skip(i + 1));
                        StopWork();
                        HandleStop();
                        throw;
                    }
                }

                ThrowIfStopping();
                Progress(activity, $"{queue.Finished} of {queue.Started} done", queue.Started == 0 ? 0 : 100 * queue.Finished / queue.Started);
            }
            while ((all && queue.Count > 0) || queue.IsFull);
        }

        /// <summary>Writes progress at most four times a second.</summary>
        protected void Progress(string activity, string status, int percent, bool force = false)
        {
            var now = DateTime.UtcNow;
            if (!force && now - _lastProgress < TimeSpan.FromMilliseconds(250))
            {
                return;
            }

            _lastProgress = now;
            WriteProgress(new ProgressRecord(ProgressId, activity, status) { PercentComplete = Math.Max(0, Math.Min(100, percent)) });
        }

        protected void CompleteProgress(string activity)
        {
            WriteProgress(new ProgressRecord(ProgressId, activity, "Done") { RecordType = ProgressRecordType.Completed });
        }
    }
}
