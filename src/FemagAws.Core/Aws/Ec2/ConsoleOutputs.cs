using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using FemagAws.Insight;

namespace FemagAws.Aws.Ec2
{
    /// <summary>
    /// An instance's console output (GetConsoleOutput): on EC2, what the instance printed while booting, cloud-init's
    /// output and the user data's among it; at most its last 64 KB, kept a while after the instance ended.
    /// </summary>
    public static class ConsoleOutputs
    {
        /// <summary>
        /// The console output as text; empty when the instance printed nothing (yet) or EC2 no longer has it; null when
        /// EC2 no longer knows the instance. Asks for the latest output, which only Nitro instances give, and asks again
        /// for the output EC2 buffers where the instance or endpoint refuses that.
        /// </summary>
        public static async Task<string?> ReadAsync(IAmazonEC2 ec2, string instanceId, CancellationToken ct)
        {
            const string doing = "Reading the console output of instance ";
            GetConsoleOutputResponse response;
            try
            {
                response = await ec2.GetConsoleOutputAsync(new GetConsoleOutputRequest { InstanceId = instanceId, Latest = true }, ct).ConfigureAwait(false);
            }
            catch (AmazonEC2Exception ex) when (ex.ErrorCode == "InvalidInstanceID.NotFound" || ex.ErrorCode == "InvalidInstanceID.Malformed")
            {
                return null;
            }
            catch (AmazonEC2Exception ex) when (ex.ErrorCode == "UnsupportedOperation" || ex.ErrorCode.StartsWith("InvalidParameter", StringComparison.Ordinal))
            {
                response = await AwsErrors.Call(() => ec2.GetConsoleOutputAsync(new GetConsoleOutputRequest { InstanceId = instanceId }, ct), doing + instanceId).ConfigureAwait(false);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested && !(ex is FemagException))
            {
                throw AwsErrors.Explain(ex, doing + instanceId);
            }

            return string.IsNullOrEmpty(response.Output) ? string.Empty : Encoding.UTF8.GetString(Convert.FromBase64String(response.Output));
        }

        /// <summary>
        /// The last non-empty lines of the console output, for the reason of a job that failed or timed out; none when it
        /// cannot be read, which must not hide the failure itself.
        /// </summary>
        public static async Task<IReadOnlyList<string>> TryLastLinesAsync(IAmazonEC2 ec2, string? instanceId, CancellationToken ct)
        {
            if (instanceId == null)
            {
                return Array.Empty<string>();
            }

            try
            {
                return LogLines.LastNonEmpty(await ReadAsync(ec2, instanceId, ct).ConfigureAwait(false));
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                return Array.Empty<string>();
            }
        }
    }
}
