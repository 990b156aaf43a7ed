using System;

namespace FemagAws.Insight
{
    /// <summary>How one run of a job ended.</summary>
    public enum JobRunOutcome
    {
        /// <summary>Still running, as far as the module knows.</summary>
        Running,

        /// <summary>The finish file held 0.</summary>
        Succeeded,

        /// <summary>FEMAG returned another exit code, or the run failed without one (watchdog, bad finish file).</summary>
        Failed,

        /// <summary>Its instance ended before the job did; the job ran again, or failed on its last attempt.</summary>
        Lost,

        /// <summary>Ended on purpose: Stop-FemagInstance, -StopOnCancel, or withdrawn from its pool.</summary>
        Stopped,

        /// <summary>Wait-FemagJob stopped waiting; the instance may still run.</summary>
        TimedOut,
    }

    /// <summary>
    /// One run of a job: the instance (its own, or a pool instance's slot) that ran one attempt, from its start to its
    /// end. A job's runs, oldest first, are its timeline: losses and relaunches are runs of their own.
    /// </summary>
    public sealed class JobRun
    {
        /// <summary>Which launch of the job this was (1-based).</summary>
        public int Attempt { get; set; }

        public string InstanceId { get; set; } = string.Empty;

        public string? InstanceType { get; set; }

        /// <summary>"spot" or "on-demand".</summary>
        public string? Lifecycle { get; set; }

        /// <summary>The worker pool whose instance ran it, or null for an instance of the job's own.</summary>
        public string? PoolId { get; set; }

        /// <summary>When the instance was launched, or when a pool instance took the job (UTC).</summary>
        public DateTime Start { get; set; }

        /// <summary>When the run ended (UTC); null while it runs or when the wait timed out.</summary>
        public DateTime? End { get; set; }

        public JobRunOutcome Outcome { get; set; }

        public override string ToString() => $"attempt {Attempt} on {InstanceId}: {Outcome}";
    }
}
