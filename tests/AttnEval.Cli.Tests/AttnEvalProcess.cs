using System.Diagnostics;
using AttnEval.TestSupport;

namespace AttnEval.Cli.Tests;

/// <summary>Starts the built <c>attneval</c> host as a child process.</summary>
internal static class AttnEvalProcess
{
    public static string Configuration { get; } = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
    public static string Artifacts { get; } = Path.Combine(SharedData.RepoRoot, "artifacts", Configuration);
    public static string HostDll { get; } = Path.Combine(Artifacts, "attneval", "attneval.dll");
    public static string Plugins { get; } = Path.Combine(Artifacts, "plugins");
    public static string TestPlugins { get; } = Path.Combine(Artifacts, "test-plugins");
    public static string DataDir { get; } = Path.Combine(AppContext.BaseDirectory, "data");

    /// <summary>The --plugins arguments for the real plugins plus the fake test plugin.</summary>
    public static string[] PluginArgs(params string[] extra) =>
        ["--plugins", Plugins, "--plugins", TestPlugins, .. extra.SelectMany(e => new[] { "--plugins", e })];

    public static ProcessStartInfo StartInfo(string workingDir, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDir, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(HostDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["CI"] = "true"; // plain progress lines, no live display
        return psi;
    }

    public static (int ExitCode, string Stdout, string Stderr) Run(string workingDir, params string[] args)
    {
        using var p = Process.Start(StartInfo(workingDir, args))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"attneval {string.Join(' ', args)} did not finish in 3 minutes");
        }
        return (p.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    /// <summary>Runs a recipe of the repository's <c>recipes/</c> from the repository root, as a user would, writing its run
    /// folder under <paramref name="output"/>; asserts exit code 0 and returns the run folder.</summary>
    public static string RunRepoRecipe(string output, string recipe, params string[] extra)
    {
        var (code, stdout, stderr) = Run(SharedData.RepoRoot, ["run", recipe, "--set", $"output.dir={output}", .. extra, .. PluginArgs()]);
        code.Should().Be(0, stdout + stderr);
        return Directory.GetDirectories(output).Single();
    }

    /// <summary>A fresh temporary folder with a copy of the test data.</summary>
    public static string FreshWorkDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "attneval-e2e-" + Guid.NewGuid().ToString("N")[..10]);
        CopyDir(DataDir, dir);
        return dir;
    }

    private static void CopyDir(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) CopyDir(d, Path.Combine(to, Path.GetFileName(d)));
    }
}
