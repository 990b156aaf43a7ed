using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace FemagAws.Jobs
{
    /// <summary>A finished piece of work: its input, and its result or the exception it ended with.</summary>
    public sealed class WorkItem<TInput, TResult>
    {
        internal WorkItem(TInput input, Task<TResult> task)
        {
            Input = input;
            Task = task;
        }

        public TInput Input { get; }

        public TResult Result => Task.Result;

        /// <summary>False while the work still runs.</summary>
        public bool IsFinished => Task.IsCompleted;

        /// <summary>The failure, unwrapped from the task, or null.</summary>
        public Exception? Error => Task.IsFaulted ? Task.Exception!.InnerExceptions.First() : Task.IsCanceled ? new OperationCanceledException() : null;

        internal Task<TResult> Task { get; }
    }

    /// <summary>
    /// Runs at most <c>limit</c> pieces of work at once and hands back finished ones in completion order, so a cmdlet
    /// can emit each job as soon as it is ready while later inputs still arrive from the pipeline.
    /// </summary>
    public sealed class WorkQueue<TInput, TResult>
    {
        private readonly List<WorkItem<TInput, TResult>> _running = new List<WorkItem<TInput, TResult>>();
        private readonly int _limit;

        public WorkQueue(int limit)
        {
            _limit = Math.Max(1, limit);
        }

        public int Count => _running.Count;

        public bool IsFull => _running.Count >= _limit;

        public int Started { get; private set; }

        public int Finished { get; private set; }

        public void Start(TInput input, Func<TInput, Task<TResult>> work)
        {
            // Task.Run keeps synchronous parts (packing) off the pipeline thread.
            _running.Add(new WorkItem<TInput, TResult>(input, Task.Run(() => work(input))));
            Started++;
        }

        /// <summary>
        /// After a stop: waits up to <paramref name="time"/> for the work still running (cancelled, and cleaning up after
        /// itself) and hands back all of it, finished or not.
        /// </summary>
        public List<WorkItem<TInput, TResult>> Settle(TimeSpan time)
        {
            var all = _running.ToList();
            _running.Clear();
            if (all.Count > 0)
            {
                // WhenAll faults when any work failed; only the waiting matters here.
                Task.WhenAll(all.Select(w => (Task)w.Task)).ContinueWith(_ => { }, TaskScheduler.Default).Wait(time);
            }

            return all;
        }

        /// <summary>Puts finished items back that were taken but not handled, e.g. when the cmdlet was stopped.</summary>
        public void Requeue(IEnumerable<WorkItem<TInput, TResult>> items)
        {
            foreach (var item in items)
            {
                _running.Add(item);
                Finished--;
            }
        }

        /// <summary>Finished items; waits up to <paramref name="wait"/> for the first one when none is finished yet.</summary>
        public List<WorkItem<TInput, TResult>> TakeFinished(TimeSpan wait, CancellationToken ct)
        {
            if (_running.Count > 0 && wait > TimeSpan.Zero && !_running.Any(w => w.Task.IsCompleted))
            {
                try
                {
                    Task.WaitAny(_running.Select(w => (Task)w.Task).ToArray(), (int)wait.TotalMilliseconds, ct);
                }
                catch (OperationCanceledException)
                {
                    // The caller checks its token; finished work is still handed back below.
                }
            }

            var done = _running.Where(w => w.Task.IsCompleted).ToList();
            foreach (var item in done)
            {
                _running.Remove(item);
            }

            Finished += done.Count;
            return done;
        }
    }

    /// <summary>Bounded parallel work for a Core call that needs all results at once (listings), not pipeline output.</summary>
    public static class WorkQueue
    {
        /// <summary>
        /// Runs <paramref name="work"/> on every input, at most <paramref name="limit"/> at once, and returns the results in
        /// input order. The first failure cancels the work not yet done and is thrown, as a loop would throw it.
        /// </summary>
        public static async Task<TResult[]> MapAsync<TInput, TResult>(IReadOnlyList<TInput> inputs, int limit, Func<TInput, CancellationToken, Task<TResult>> work, CancellationToken ct)
        {
            using (var failed = CancellationTokenSource.CreateLinkedTokenSource(ct))
            using (var slots = new SemaphoreSlim(Math.Max(1, limit)))
            {
                var tasks = inputs.Select(async input =>
                {
                    await slots.WaitAsync(failed.Token).ConfigureAwait(false);
                    try
                    {
                        return await work(input, failed.Token).ConfigureAwait(false);
                    }
                    catch
                    {
                        failed.Cancel();
                        throw;
                    }
                    finally
                    {
                        slots.Release();
                    }
                }).ToList();

                // A task ended by the cancellation is Canceled, not Faulted, so WhenAll throws the failure itself.
                return await Task.WhenAll(tasks).ConfigureAwait(false);
            }
        }
    }
}
