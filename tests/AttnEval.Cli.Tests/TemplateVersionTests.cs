using System.Xml.Linq;
using AttnEval.TestSupport;

namespace AttnEval.Cli.Tests;

/// <summary>The projects that <c>dotnet new attneval-metric</c> and <c>attneval-backend</c> create carry package versions of
/// their own (no central package management outside the repository): the contract's, and the repository's
/// Microsoft.Extensions.DependencyInjection.Abstractions.</summary>
public sealed class TemplateVersionTests
{
    [Theory]
    [InlineData("attneval-metric/AttnEvalMetric.csproj")]
    [InlineData("attneval-backend/AttnEvalBackend.csproj")]
    public void Template_projects_reference_the_contract_and_the_hosts_dependency_injection_versions(string project)
    {
        var references = XDocument.Load(Path.Combine(SharedData.RepoRoot, "templates", "content", project)).Descendants("PackageReference")
            .ToDictionary(r => (string)r.Attribute("Include")!, r => (Version: (string?)r.Attribute("Version"), Exclude: (string?)r.Attribute("ExcludeAssets")));
        var central = XDocument.Load(Path.Combine(SharedData.RepoRoot, "Directory.Packages.props")).Descendants("PackageVersion")
            .ToDictionary(r => (string)r.Attribute("Include")!, r => (string)r.Attribute("Version")!);

        references.Keys.Should().BeEquivalentTo(["AttnEval.Abstractions", "Microsoft.Extensions.DependencyInjection.Abstractions"]);
        references["AttnEval.Abstractions"].Version.Should().Be(typeof(AttnEval.Abstractions.IAttnEvalPlugin).Assembly.GetName().Version!.ToString(3));
        references["Microsoft.Extensions.DependencyInjection.Abstractions"].Version.Should().Be(central["Microsoft.Extensions.DependencyInjection.Abstractions"]);
        references.Values.Should().OnlyContain(r => r.Exclude == "runtime", "the host provides both at run time");
    }
}
