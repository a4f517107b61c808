using System.Diagnostics;
using AttnEval.Core.Running;
using Spectre.Console;

namespace AttnEval.Cli;

/// <summary>Shows run progress: a Spectre.Console bar with rate and ETA on an interactive terminal, otherwise plain
/// lines (at most one per second, plus the last).</summary>
internal sealed class ConsoleObserver : IRunObserver
{
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
        if (!Interactive) return body();
        return AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx => { _context = ctx; return body(); });
    }

    public void Started(string runDir, int total, int alreadyDone)
    {
        _total = total; _done = alreadyDone; _startDone = alreadyDone;
        _clock.Restart();
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
            return;
        }
        var elapsed = _clock.Elapsed;
        if (_done < _total && elapsed - _lastLine < TimeSpan.FromSeconds(1)) return;
        _lastLine = elapsed;
        double rate = (_done - _startDone) / Math.Max(1e-9, elapsed.TotalSeconds);
        var eta = rate > 0 ? TimeSpan.FromSeconds((_total - _done) / rate) : TimeSpan.Zero;
        Console.Error.WriteLine($"[{_done}/{_total}] {100.0 * _done / Math.Max(1, _total):0}%  {rate:0.00} samples/s  ETA {eta:hh\\:mm\\:ss}" +
                                (_errors > 0 ? $"  {_errors} with errors" : ""));
    }

    public void Status(string message)
    {
        if (_context is not null) AnsiConsole.MarkupLine($"[grey]{Markup.Escape(message)}[/]");
        else Console.Error.WriteLine(message);
    }
}
