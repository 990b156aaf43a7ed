using System;
using System.Management.Automation;

namespace FemagAws.Internal
{
    /// <summary>Maps core failures to ErrorRecords with stable ids and categories.</summary>
    internal static class ErrorRecords
    {
        public static ErrorRecord From(Exception ex, object? target)
        {
            if (ex is FemagException femag)
            {
                return new ErrorRecord(femag, femag.ErrorId, Category(femag.Kind), target);
            }

            return new ErrorRecord(ex, "FemagUnexpected", ErrorCategory.NotSpecified, target);
        }

        /// <summary>A record of the module's own, whose category and exception say the same kind of failure.</summary>
        public static ErrorRecord Create(string errorId, FemagErrorKind kind, string message, object? target) =>
            From(new FemagException(errorId, kind, message), target);

        private static ErrorCategory Category(FemagErrorKind kind)
        {
            switch (kind)
            {
                case FemagErrorKind.InvalidArgument: return ErrorCategory.InvalidArgument;
                case FemagErrorKind.InvalidData: return ErrorCategory.InvalidData;
                case FemagErrorKind.ObjectNotFound: return ErrorCategory.ObjectNotFound;
                case FemagErrorKind.ResourceExists: return ErrorCategory.ResourceExists;
                case FemagErrorKind.AuthenticationError: return ErrorCategory.AuthenticationError;
                case FemagErrorKind.PermissionDenied: return ErrorCategory.PermissionDenied;
                case FemagErrorKind.ParserError: return ErrorCategory.ParserError;
                case FemagErrorKind.OperationTimeout: return ErrorCategory.OperationTimeout;
                case FemagErrorKind.ResourceUnavailable: return ErrorCategory.ResourceUnavailable;
                case FemagErrorKind.LimitsExceeded: return ErrorCategory.LimitsExceeded;
                case FemagErrorKind.SecurityError: return ErrorCategory.SecurityError;
                default: return ErrorCategory.InvalidOperation;
            }
        }
    }
}
