using System.Text;

namespace AttnEval.Cli;

/// <summary>
/// The run folder's <c>run.log</c>: what <c>attneval run</c> printed — status lines, progress as plain lines (also when
/// the terminal shows a live bar instead), warnings and errors, the final table. Lines printed before the run folder
/// exists (loading the model) are kept and written once it does; a resumed run appends to the log it finds.
/// </summary>
internal sealed class RunLog : IDisposable
{
    public const string FileName = "run.log";
    private readonly Lock _gate = new();
    private List<string>? _pending = [];
    private StreamWriter? _file;

    /// <summary>Opens <c>run.log</c> in <paramref name="runDir"/> and writes the lines kept so far; later calls do nothing.</summary>
    public void Attach(string runDir)
    {
        lock (_gate)
        {
            if (_file is not null) return;
            var stream = new FileStream(Path.Combine(runDir, FileName), FileMode.Append, FileAccess.Write, FileShare.Read);
            _file = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true };
            foreach (var line in _pending ?? []) _file.WriteLine(line);
            _pending = null;
        }
    }

    /// <summary>Adds one line (without its newline).</summary>
    public void WriteLine(string line)
    {
        lock (_gate)
        {
            if (_file is not null) _file.WriteLine(line);
            else _pending?.Add(line);
        }
    }

    /// <summary>A writer that writes to <paramref name="console"/> and adds each completed line to the log.</summary>
    public TextWriter Tee(TextWriter console) => TextWriter.Synchronized(new TeeWriter(console, this));

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate) _file?.Dispose();
    }

    private sealed class TeeWriter(TextWriter console, RunLog log) : TextWriter
    {
        private readonly StringBuilder _line = new();

        public override Encoding Encoding => console.Encoding;

        public override void Write(char value)
        {
            console.Write(value);
            Keep(value);
        }

        public override void Write(string? value)
        {
            console.Write(value);
            foreach (var c in value ?? "") Keep(c);
        }

        public override void Write(char[] buffer, int index, int count)
        {
            console.Write(buffer, index, count);
            for (int i = index; i < index + count; i++) Keep(buffer[i]);
        }

        public override void Flush() => console.Flush();

        private void Keep(char c)
        {
            if (c == '\n')
            {
                log.WriteLine(_line.ToString().TrimEnd('\r'));
                _line.Clear();
            }
            else _line.Append(c);
        }
    }
}
