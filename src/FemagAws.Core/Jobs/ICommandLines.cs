using System.Collections.Generic;
using FemagAws.Aws;

namespace FemagAws.Jobs
{
    /// <summary>What the next step of a stopped job is, for the stop account's "Go on" lines.</summary>
    public enum GoOnStep
    {
        /// <summary>Its instance runs on or is to be launched again: wait for the job, then receive it.</summary>
        Wait,

        /// <summary>Only its upload is in the cloud: start it, wait for it, receive it.</summary>
        Start,

        /// <summary>It has finished: receive it.</summary>
        Receive,
    }

    /// <summary>
    /// The command lines a user is told to type, asked for by what they do; the module writes them (Core holds no
    /// PowerShell text). Each names what finds its job or bucket again (config file, region, endpoint, profile), so it
    /// runs as printed in this or any later session.
    /// </summary>
    public interface ICommandLines
    {
        /// <summary>Starts a job whose launch failed again, with its config's settings.</summary>
        string Restart(FemagJob job);

        /// <summary>Removes one of the module's buckets, without asking.</summary>
        string RemoveBucket(AwsTarget target, string bucketName);

        /// <summary>Deletes a bucket the module did not create, with the AWS CLI.</summary>
        string DeleteOtherBucket(AwsTarget target, string bucketName);

        /// <summary>Terminates instances, with the AWS CLI, for when the module's own terminate failed or refused.</summary>
        string TerminateInstances(AwsTarget target, IEnumerable<string> instanceIds);

        /// <summary>Lines that take stopped jobs on from where they are, each job with its next step; as few lines as find them.</summary>
        IEnumerable<string> GoOn(IReadOnlyList<KeyValuePair<FemagJob, GoOnStep>> jobs);

        /// <summary>Lines that remove stopped jobs' buckets, terminating their instances first when <paramref name="stopInstances"/>.</summary>
        IEnumerable<string> CleanUp(IReadOnlyList<FemagJob> jobs, bool stopInstances);
    }
}
