using System.Text.Json;
using AttnEval.TestSupport;

namespace AttnEval.Cli.Tests;

/// <summary>Keeps the build files in step with the tree.</summary>
public sealed class RepositoryLayoutTests
{
    [Fact]
    public void The_attneval_build_filter_lists_every_src_and_plugin_project()
    {
        var root = SharedData.RepoRoot;
        var listed = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "attneval.slnf")))
            .RootElement.GetProperty("solution").GetProperty("projects").EnumerateArray()
            .Select(p => p.GetString()!.Replace('\\', '/')).ToHashSet();
        var expected = Directory.GetFiles(Path.Combine(root, "src"), "*.csproj", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(Path.Combine(root, "plugins"), "*.csproj", SearchOption.AllDirectories))
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Select(p => Path.GetRelativePath(root, p).Replace('\\', '/'));
        expected.Should().BeSubsetOf(listed);
    }

    [Fact]
    public void Ci_runs_exactly_the_readme_test_command()
    {
        var root = SharedData.RepoRoot;
        var ci = File.ReadAllLines(Path.Combine(root, ".ci", "run")).Where(l => l.StartsWith("dotnet ", StringComparison.Ordinal)).ToList();
        ci.Should().ContainSingle().Which.Should().Be("dotnet test AttnEval.sln");
        File.ReadAllText(Path.Combine(root, "README.md")).Should().Contain("dotnet test AttnEval.sln");
    }

    [Fact]
    public void Ci_installs_chromium_for_the_report_browser_test_without_failing_when_it_cannot()
    {
        var ci = File.ReadAllText(Path.Combine(SharedData.RepoRoot, ".ci", "run"));
        ci.Should().Contain("if ! command -v chromium").And.Contain("apt-get install -y -qq chromium")
            .And.Contain("|| echo \".ci/run: could not install chromium; the report's browser test will skip\" >&2");
        ci.IndexOf("apt-get install", StringComparison.Ordinal).Should().BeLessThan(ci.IndexOf("dotnet test", StringComparison.Ordinal));
    }

    [Fact]
    public void The_readme_test_command_prints_skip_reasons()
    {
        // xunit writes a skipped test's reason at the console logger's normal verbosity; `dotnet test` alone uses minimal.
        var props = System.Xml.Linq.XDocument.Load(Path.Combine(SharedData.RepoRoot, "tests", "Directory.Build.props"));
        props.Descendants("VSTestLogger").Select(e => e.Value).Should().ContainSingle().Which.Should().Be("console%3Bverbosity=normal");
        File.ReadAllText(Path.Combine(SharedData.RepoRoot, "README.md")).Should().Contain("skipped test is listed with its reason");
    }
}
