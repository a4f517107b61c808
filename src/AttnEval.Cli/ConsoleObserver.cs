using System.Diagnostics;
using AttnEval.Core.Running;
using Spectre.Console;

namespace AttnEval.Cli;

/// <summary>Shows run progress: a Spectre.Console bar with rate and ETA on an interactive terminal, otherwise plain
/// lines (at most one per second, plus the last). The plain lines and status messages also go to <paramref name="log"/>
/// (the run folder's <c>run.log</c>) when the terminal shows the bar instead.</summary>
/// <remarks>Create it before <see cref="Console.Out"/> is replaced (Commands.Run tees it into the log): deciding
/// <see cref="Interactive"/> binds Spectre.Console to the terminal's own output, so the bar never reaches the log.</remarks>
/// <param name="log">The run log that gets the plain lines.</param>
/// <param name="plain">Plain lines even on a terminal (<c>run --json</c>: standard output carries only the JSON summary).</param>
internal sealed class ConsoleObserver(RunLog? log = null, bool plain = false) : IRunObserver
{
    private readonly bool _interactive = !plain && Interactive;
    private readonly Stopwatch _clock = new();
    private ProgressContext? _context;
    private ProgressTask? _task;
    private int _total, _done, _startDone, _errors;
    private TimeSpan _lastLine = TimeSpan.FromDays(-1);

    public static bool Interactive =>
        !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive && Environment.GetEnvironmentVariable("CI") is null;

    /// <summary>Runs <paramref name="body"/> inside a live progress display when the terminal allows it.</summary>
    public T Run<T>(Func<T> body)
    {
        if (!_interactive) return body();
        return AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx => { _context = ctx; return body(); });
    }

    public void Started(string runDir, int total, int alreadyDone)
    {
        _total = total; _done = alreadyDone; _startDone = alreadyDone;
        _clock.Restart();
        log?.Attach(runDir);
        Console.Error.WriteLine($"run folder: {runDir}" + (alreadyDone > 0 ? $" (resuming: {alreadyDone} of {total} samples already done)" : ""));
        if (_context is not null)
        {
            _task = _context.AddTask("samples", maxValue: Math.Max(1, total));
            _task.Value = alreadyDone;
        }
    }

    public void SampleFinished(string sampleId, bool hadError)
    {
        _done++;
        if (hadError) _errors++;
        if (_task is not null)
        {
            _task.Increment(1);
            _task.Description = _errors > 0 ? $"samples ({_errors} with errors)" : "samples";
        }
        var elapsed = _clock.Elapsed;
        if (_done < _total && elapsed - _lastLine < TimeSpan.FromSeconds(1)) return;
        _lastLine = elapsed;
        double rate = (_done - _startDone) / Math.Max(1e-9, elapsed.TotalSeconds);
        var eta = rate > 0 ? TimeSpan.FromSeconds((_total - _done) / rate) : TimeSpan.Zero;
        var line = $"[{_done}/{_total}] {100.0 * _done / Math.Max(1, _total):0}%  {rate:0.00} samples/s  ETA {eta:hh\\:mm\\:ss}" +
                   (_errors > 0 ? $"  {_errors} with errors" : "");
        if (_task is not null) log?.WriteLine(line);
        else Console.Error.WriteLine(line);
    }

    public void Status(string message)
    {
        if (_context is not null)
        {
            AnsiConsole.MarkupLine($"[grey]{Markup.Escape(message)}[/]");
            log?.WriteLine(message);
        }
        else Console.Error.WriteLine(message);
    }
}
