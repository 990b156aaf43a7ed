using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;

namespace FemagAws.Aws.Ec2
{
    /// <summary>One record of EC2's Spot price history: the price per hour from its timestamp until the next record.</summary>
    public sealed class SpotPricePoint
    {
        public SpotPricePoint(DateTime timestamp, decimal pricePerHour)
        {
            Timestamp = timestamp;
            PricePerHour = pricePerHour;
        }

        /// <summary>When the price took effect (UTC).</summary>
        public DateTime Timestamp { get; }

        /// <summary>US dollars per instance-hour.</summary>
        public decimal PricePerHour { get; }
    }

    /// <summary>The Spot prices an instance paid (faked in the unit tests).</summary>
    public interface ISpotPriceHistory
    {
        /// <summary>
        /// The Linux/UNIX Spot prices of <paramref name="instanceType"/> in <paramref name="availabilityZone"/> from
        /// <paramref name="start"/> to <paramref name="end"/>, with the record in effect at the start, in any order.
        /// </summary>
        Task<IReadOnlyList<SpotPricePoint>> ForAsync(string instanceType, string availabilityZone, DateTime start, DateTime end, CancellationToken ct);
    }

    /// <summary>EC2's DescribeSpotPriceHistory, which also returns the record in effect at StartTime.</summary>
    public sealed class SpotPriceHistory : ISpotPriceHistory
    {
        /// <summary>The instances run Amazon Linux, which EC2 prices as this product.</summary>
        public const string Product = "Linux/UNIX";

        private readonly IAmazonEC2 _ec2;

        public SpotPriceHistory(IAmazonEC2 ec2)
        {
            _ec2 = ec2;
        }

        public async Task<IReadOnlyList<SpotPricePoint>> ForAsync(string instanceType, string availabilityZone, DateTime start, DateTime end, CancellationToken ct)
        {
            var request = new DescribeSpotPriceHistoryRequest
            {
                InstanceTypes = new List<string> { instanceType },
                AvailabilityZone = availabilityZone,
                ProductDescriptions = new List<string> { Product },
                StartTime = start,
                EndTime = end,
            };
            var points = new List<SpotPricePoint>();
            try
            {
                await foreach (var response in _ec2.Paginators.DescribeSpotPriceHistory(request).Responses.WithCancellation(ct).ConfigureAwait(false))
                {
                    foreach (var price in response.SpotPriceHistory ?? new List<SpotPrice>())
                    {
                        if (price.Timestamp is DateTime at && decimal.TryParse(price.Price, NumberStyles.Float, CultureInfo.InvariantCulture, out var usd))
                        {
                            points.Add(new SpotPricePoint(at.ToUniversalTime(), usd));
                        }
                    }
                }
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                throw AwsErrors.Explain(ex, $"Looking up the Spot price of {instanceType} in {availabilityZone}");
            }

            return points;
        }
    }
}
