namespace AttnEval.Core.Running;

/// <summary>Receives progress from a run (the CLI draws a progress bar or prints plain lines).</summary>
public interface IRunObserver
{
    /// <summary>The sample loop starts: <paramref name="total"/> samples, <paramref name="alreadyDone"/> of them finished by an earlier attempt.</summary>
    void Started(string runDir, int total, int alreadyDone);
    /// <summary>One sample finished (with or without errors).</summary>
    void SampleFinished(string sampleId, bool hadError);
    /// <summary>A one-line status message (loading the model, writing the summary, ...).</summary>
    void Status(string message);
}

/// <summary>An observer that ignores everything.</summary>
public sealed class NullRunObserver : IRunObserver
{
    /// <summary>The shared instance.</summary>
    public static NullRunObserver Instance { get; } = new();
    /// <inheritdoc />
    public void Started(string runDir, int total, int alreadyDone) { }
    /// <inheritdoc />
    public void SampleFinished(string sampleId, bool hadError) { }
    /// <inheritdoc />
    public void Status(string message) { }
}
