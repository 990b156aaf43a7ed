using System;

namespace FemagAws
{
    /// <summary>What kind of failure a <see cref="FemagException"/> is; the cmdlets map it to an ErrorCategory.</summary>
    public enum FemagErrorKind
    {
        InvalidArgument,
        InvalidData,
        ObjectNotFound,
        ResourceExists,
        AuthenticationError,
        PermissionDenied,
        ParserError,
        OperationTimeout,
        ResourceUnavailable,
        InvalidOperation,
        LimitsExceeded,
        SecurityError,
    }

    /// <summary>A failure the user can act on: a stable id, a kind and a message that says what to do.</summary>
    public class FemagException : Exception
    {
        public FemagException(string errorId, FemagErrorKind kind, string message, Exception? inner = null)
            : base(message, inner)
        {
            ErrorId = errorId;
            Kind = kind;
        }

        public string ErrorId { get; }

        public FemagErrorKind Kind { get; }
    }

    /// <summary>An INI file that cannot be used; names the file and, where known, the line.</summary>
    public sealed class FemagConfigException : FemagException
    {
        public FemagConfigException(string? path, int line, string problem)
            : base("FemagConfigInvalid", FemagErrorKind.ParserError, Describe(path, line, problem))
        {
            Path = path;
            Line = line;
            Problem = problem;
        }

        public string? Path { get; }

        /// <summary>1-based line number, or 0 where the problem is not tied to a line.</summary>
        public int Line { get; }

        public string Problem { get; }

        private static string Describe(string? path, int line, string problem)
        {
            var where = path ?? "configuration";
            if (line > 0)
            {
                where += ", line " + line;
            }

            return where + ": " + problem;
        }
    }
}
