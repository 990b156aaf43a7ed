using System;
using System.Management.Automation;
using System.Net;
using FemagAws.Aws;
using FemagAws.Aws.Credentials;

namespace FemagAws.Internal
{
    /// <summary>
    /// Turns -Credential's argument into <see cref="GivenCredentials"/>: a PSCredential (access key id and secret
    /// access key) or an AWS credentials object of any SDK version, such as AWS Tools returns. Anything else is a
    /// binding error that says what to give.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property)]
    internal sealed class AwsCredentialTransformationAttribute : ArgumentTransformationAttribute
    {
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            var value = inputData is PSObject pso ? pso.BaseObject : inputData;
            switch (value)
            {
                case GivenCredentials given:
                    return given;
                case PSCredential credential:
                    // Windows PowerShell's credential dialog may put a '\' (an empty domain) before the user name.
                    var accessKey = (credential.UserName ?? string.Empty).TrimStart('\\');
                    var secretKey = credential.Password == null ? string.Empty : new NetworkCredential(string.Empty, credential.Password).Password;
                    if (accessKey.Length == 0 || secretKey.Length == 0)
                    {
                        throw new ArgumentTransformationMetadataException(
                            "The PSCredential given with -Credential needs the access key id as its user name and the secret access key as its password; one of them is empty.");
                    }

                    return GivenCredentials.FromKeys(accessKey, secretKey, null, "-Credential (PSCredential " + accessKey + ")");
                case null:
                    break;
                default:
                    var provider = GivenCredentials.FromProvider(value, "-Credential (" + value.GetType().FullName + ")");
                    if (provider != null)
                    {
                        return provider;
                    }

                    break;
            }

            throw new ArgumentTransformationMetadataException(
                $"-Credential takes a PSCredential whose user name is the access key id and whose password is the secret access key (Get-Credential), " +
                $"or an AWS credentials object such as Get-AWSCredential returns, not a {value?.GetType().FullName ?? "null"}. For a profile, use -ProfileName.");
        }
    }
}
