namespace AttnEval.Cli.Tests;

/// <summary><c>model.options</c> are checked against the backend's declared options (issue 13: <c>threadz=1</c> was
/// accepted silently).</summary>
[Collection("attneval processes")]
public sealed class ModelOptionsTests
{
    [Theory]
    [InlineData("model.options.threadz=1", "unknown key 'threadz' in model.options of backend 'torchsharp'; did you mean 'threads'? (known: threads)")]
    [InlineData("model.options.threads=0", "model.options.threads: 0 is out of range [1, 4096]")]
    [InlineData("model.options.threads=two", "model.options.threads: expected an integer, got 'two'")]
    public void A_bad_backend_option_is_refused_by_validate(string set, string message)
    {
        var (code, stdout, stderr) = AttnEvalProcess.Run(TestSupport.SharedData.RepoRoot, ["validate", "recipes/quickstart.yaml", "--set", set, .. AttnEvalProcess.PluginArgs()]);
        code.Should().Be(2, stdout + stderr);
        (stdout + stderr).Should().Contain(message);
    }

    [Fact]
    public void The_threads_option_is_accepted_and_used()
    {
        var output = Path.Combine(Path.GetTempPath(), "attneval-threads-" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            var dir = AttnEvalProcess.RunRepoRecipe(output, "recipes/quickstart.yaml", "--limit", "2", "--set", "model.options.threads=1", "--set", "metrics=[msp]");
            File.ReadAllText(Path.Combine(dir, "recipe.resolved.yaml")).Should().Contain("threads: \"1\"");
        }
        finally { try { Directory.Delete(output, true); } catch (IOException) { } }
    }
}
