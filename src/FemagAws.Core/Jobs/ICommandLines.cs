using System.Collections.Generic;
using FemagAws.Aws;

namespace FemagAws.Jobs
{
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

        /// <summary>Withdraws a pool's jobs and removes the pool: its instances and queues.</summary>
        string RemovePool(AwsTarget target, string poolId);
    }
}
