using System.Text.RegularExpressions;
using AttnEval.TestSupport;

namespace AttnEval.Cli.Tests;

/// <summary>The shipped recipes in a clone with nothing beside it (no ../shared): each runs on what the repository
/// ships, or says in its header and in each error what it needs and which --set supplies it.</summary>
[Collection("attneval processes")]
public sealed class FreshCloneRecipeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "attneval-fresh-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    /// <summary>The recipes that run on what the repository ships (the embedded lab model and its data).</summary>
    private static readonly string[] SelfContained = ["attention-influence", "attention-sinks", "quickstart", "reasoning-rhythm", "receiver-heads", "retrieval-heads", "safety-heads", "search-robustness"];

    [Fact]
    public void Each_shipped_recipe_runs_as_shipped_or_says_in_its_header_and_its_errors_what_data_to_pass()
    {
        // A clone: the recipes and what the repository ships beside them (samples/), and no shared data folder above it.
        var clone = Path.Combine(_dir, "AttnEval");
        Directory.CreateDirectory(Path.Combine(clone, "recipes", "needles"));
        foreach (var f in Directory.GetFiles(Path.Combine(SharedData.RepoRoot, "recipes"), "*", SearchOption.AllDirectories))
            File.Copy(f, Path.Combine(clone, Path.GetRelativePath(SharedData.RepoRoot, f)));
        Directory.CreateSymbolicLink(Path.Combine(clone, "samples"), Path.Combine(SharedData.RepoRoot, "samples"));
        var recipes = Directory.GetFiles(Path.Combine(clone, "recipes"), "*.yaml").Select(f => Path.GetFileNameWithoutExtension(f)!).Order(StringComparer.Ordinal).ToList();
        recipes.Should().Contain(SelfContained).And.HaveCountGreaterThan(SelfContained.Length);

        var (code, stdout, stderr) = AttnEvalProcess.Run(clone, ["validate", .. recipes.Select(r => $"recipes/{r}.yaml"), .. AttnEvalProcess.PluginArgs()]);

        code.Should().Be(2, stdout + stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Where(l => l.EndsWith(": ok", StringComparison.Ordinal)).Should().BeEquivalentTo(SelfContained.Select(r => $"recipes/{r}.yaml: ok"));
        var errors = lines.Where(l => !l.EndsWith(": ok", StringComparison.Ordinal))
            .Select(l => Regex.Match(l, @"^.*/recipes/([a-z0-9-]+)\.yaml:(\d+):(\d+): (.*)$")).ToList();
        errors.Should().OnlyContain(m => m.Success, stdout);
        foreach (var recipe in recipes.Except(SelfContained))
        {
            var mine = errors.Where(m => m.Groups[1].Value == recipe).Select(m => m.Groups[4].Value).ToList();
            mine.Should().NotBeEmpty($"{recipe} needs data the repository does not ship");
            foreach (var message in mine)
            {
                var key = Regex.Match(message, @"^([a-z_.-]+): ").Groups[1].Value;
                var set = Regex.Replace(key, @"^metrics\.[a-z-]+\.", "metrics.0.");
                message.Should().MatchRegex($@" --set {Regex.Escape(set)}=<(path|file|folder)>$", "the error says which --set supplies it");
                if (message.Contains("../shared/data", StringComparison.Ordinal))
                    message.Should().Contain("../shared/data is AttnEval's shared data folder (real models and data sets), which the repository does not ship");
                Header(clone, recipe).Should().Contain("--set " + set + "=", $"{recipe}'s header says how to supply {key}");
            }
            Header(clone, recipe).Should().Contain("Data (not shipped with the repository):");
        }
    }

    /// <summary>The recipe's leading comment lines, joined.</summary>
    private static string Header(string clone, string recipe) =>
        string.Join(' ', File.ReadLines(Path.Combine(clone, "recipes", recipe + ".yaml")).TakeWhile(l => l.StartsWith('#')).Select(l => l.TrimStart('#').Trim()));
}
