using Xunit;

namespace AttnEval.TestSupport;

/// <summary>
/// Locates <c>../shared/data</c> (beside the repository). Tests that need it call <see cref="Require"/>:
/// the test is skipped with a clear reason when the folder is absent, and fails under <c>CI=true</c>.
/// The folder can be moved with the <c>ATTNEVAL_SHARED_DATA</c> environment variable.
/// </summary>
public static class SharedData
{
    /// <summary>The repository root (the folder holding AttnEval.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    private static readonly string DefaultRoot =
        Environment.GetEnvironmentVariable("ATTNEVAL_SHARED_DATA") is { Length: > 0 } env
            ? Path.GetFullPath(env)
            : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data"));

    private static readonly AsyncLocal<string?> OverriddenRoot = new();

    /// <summary>The shared data folder, whether or not it exists.</summary>
    public static string Root => OverriddenRoot.Value ?? DefaultRoot;

    /// <summary>Makes <see cref="Root"/> <paramref name="root"/> for the calling test only (an async-local value, so
    /// tests running in parallel keep theirs) until the returned scope is disposed; for tests of the skip behaviour.</summary>
    public static IDisposable UseRoot(string root)
    {
        var previous = OverriddenRoot.Value;
        OverriddenRoot.Value = Path.GetFullPath(root);
        return new Scope(() => OverriddenRoot.Value = previous);
    }

    private sealed class Scope(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }

    /// <summary>True when running under CI (<c>CI=true</c>).</summary>
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Returns the full path of <paramref name="relative"/> under the shared data folder; skips the test when
    /// it is missing, or fails it when <c>CI=true</c>.</summary>
    public static string Require(string relative)
    {
        var path = Path.Combine(Root, relative);
        if (File.Exists(path) || Directory.Exists(path)) return path;
        var reason = $"shared data '{relative}' not found under {Root} (set ATTNEVAL_SHARED_DATA or place ../shared/data beside the repository)";
        if (IsCi) throw new InvalidOperationException("CI=true but " + reason);
        Skip.If(true, reason);
        return path;
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AttnEval.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("AttnEval.sln not found above " + AppContext.BaseDirectory);
    }
}
