using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace FemagAws.Tests.Infrastructure;

/// <summary>
/// A minimal, non-interactive PowerShell host that writes to a TextWriter, so Out-Host and Out-Default render
/// format views (the FemagJob table) the way a console would. Prompts fail, as in a scheduled task.
/// </summary>
public sealed class TextHost : PSHost
{
    private readonly TextUserInterface _ui;

    /// <param name="output">Where everything the host shows goes.</param>
    /// <param name="plainText">Strips the colour codes PowerShell puts into tables, for files and pipes.</param>
    /// <param name="width">The console width tables are laid out for.</param>
    public TextHost(TextWriter output, bool plainText, int width = 160) => _ui = new TextUserInterface(output, plainText, width);

    public override string Name => "FemagAws.Tests";

    public override Version Version => new(1, 0);

    public override Guid InstanceId { get; } = Guid.NewGuid();

    public override PSHostUserInterface UI => _ui;

    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;

    public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;

    public int ExitCode { get; private set; }

    public override void SetShouldExit(int exitCode) => ExitCode = exitCode;

    public override void EnterNestedPrompt() => throw new NotSupportedException();

    public override void ExitNestedPrompt() => throw new NotSupportedException();

    public override void NotifyBeginApplication()
    {
    }

    public override void NotifyEndApplication()
    {
    }

    private sealed class TextUserInterface : PSHostUserInterface
    {
        private static readonly System.Text.RegularExpressions.Regex Ansi = new("\u001b\\[[0-9;]*[A-Za-z]");
        private readonly TextWriter _out;
        private readonly bool _plain;
        private readonly TextRawUserInterface _raw;

        public TextUserInterface(TextWriter output, bool plainText, int width)
        {
            _out = output;
            _plain = plainText;
            _raw = new TextRawUserInterface(width);
        }

        public override PSHostRawUserInterface RawUI => _raw;

        public override string ReadLine() => throw NonInteractive();

        public override SecureString ReadLineAsSecureString() => throw NonInteractive();

        public override void Write(string value) => _out.Write(Plain(value));

        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => _out.Write(Plain(value));

        public override void WriteLine(string value) => _out.WriteLine(Plain(value));

        public override void WriteErrorLine(string value) => _out.WriteLine("ERROR: " + Plain(value));

        public override void WriteDebugLine(string message) => _out.WriteLine("DEBUG: " + Plain(message));

        public override void WriteProgress(long sourceId, ProgressRecord record)
        {
        }

        public override void WriteVerboseLine(string message) => _out.WriteLine("VERBOSE: " + Plain(message));

        public override void WriteWarningLine(string message) => _out.WriteLine("WARNING: " + Plain(message));

        public override Dictionary<string, PSObject> Prompt(string caption, string message, System.Collections.ObjectModel.Collection<FieldDescription> descriptions) => throw NonInteractive();

        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw NonInteractive();

        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw NonInteractive();

        public override int PromptForChoice(string caption, string message, System.Collections.ObjectModel.Collection<ChoiceDescription> choices, int defaultChoice) => throw NonInteractive();

        private string Plain(string text) => _plain ? Ansi.Replace(text, string.Empty) : text;

        private static PSInvalidOperationException NonInteractive() => new("This host is non-interactive; pass -Force or -Confirm:$false instead of answering prompts.");
    }

    private sealed class TextRawUserInterface : PSHostRawUserInterface
    {
        public TextRawUserInterface(int width)
        {
            BufferSize = new Size(width, 9999);
            WindowSize = new Size(width, 50);
        }

        public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;

        public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;

        public override Coordinates CursorPosition { get; set; }

        public override Coordinates WindowPosition { get; set; }

        public override int CursorSize { get; set; }

        public override Size BufferSize { get; set; }

        public override Size WindowSize { get; set; }

        public override Size MaxWindowSize => WindowSize;

        public override Size MaxPhysicalWindowSize => WindowSize;

        public override bool KeyAvailable => false;

        public override string WindowTitle { get; set; } = string.Empty;

        public override KeyInfo ReadKey(ReadKeyOptions options) => throw new NotSupportedException();

        public override void FlushInputBuffer()
        {
        }

        public override void SetBufferContents(Coordinates origin, BufferCell[,] contents)
        {
        }

        public override void SetBufferContents(Rectangle rectangle, BufferCell fill)
        {
        }

        public override BufferCell[,] GetBufferContents(Rectangle rectangle) => new BufferCell[0, 0];

        public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill)
        {
        }
    }
}
