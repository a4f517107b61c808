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
}
