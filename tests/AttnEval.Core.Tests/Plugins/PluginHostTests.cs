using AttnEval.Abstractions;
using AttnEval.Core.Plugins;

namespace AttnEval.Core.Tests.Plugins;

public sealed class PluginHostTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "attneval-plugins-" + Guid.NewGuid().ToString("N")[..10]);

    private const string GoodSource = """
        using System.Collections.Generic;
        using AttnEval.Abstractions;
        using Microsoft.Extensions.DependencyInjection;
        namespace Good;
        public sealed class Length : ISampleEstimatorFactory, ISampleEstimator
        {
            public string Name => "answer-length";
            public string Description => "test";
            public MetricKind Kind => MetricKind.SampleEstimator;
            public IReadOnlyList<OptionSpec> Options => [];
            public MetricNeeds Needs => MetricNeeds.None;
            public ISampleEstimator Create(OptionValues o) => this;
            public IAttentionRowReducer? CreateReducer(ModelInfo m, int p) => null;
            public SampleEstimate Estimate(EstimationContext c) => new(c.Answer.Tokens.Count);
        }
        public sealed class Plugin : IAttnEvalPlugin
        {
            public string Name => "good";
            public void ConfigureServices(IServiceCollection s) => s.AddSingleton<ISampleEstimatorFactory, Length>();
        }
        """;

    private string Folder(string name) => Path.Combine(_dir, name);
    private string Dll(string name) => Path.Combine(Folder(name), name + ".dll");

    private void CompileGood(string name = "GoodPlugin") =>
        PluginCompiler.Compile(name, GoodSource, Dll(name), "1.0.0.0", PluginCompiler.Contract, PluginCompiler.DependencyInjection);

    [Fact]
    public void Loads_a_plugin_and_registers_its_exports()
    {
        CompileGood();
        using var host = new PluginHost().LoadFrom([_dir]);
        host.Errors.Should().BeEmpty();
        host.Plugins.Should().ContainSingle().Which.Should().Match<PluginInfo>(p =>
            p.Name == "good" && p.Folder == Folder("GoodPlugin") && p.Exports.Single().Name == "answer-length" && p.Exports.Single().Kind == "sample-estimator");
        host.Catalog.Metrics.Should().ContainKey("answer-length");
        host.Catalog.Metrics["answer-length"].Kind.Should().Be(MetricKind.SampleEstimator);
    }

    [Fact]
    public void Each_bad_folder_gives_one_clear_error_and_the_good_plugin_still_loads()
    {
        CompileGood();

        // 1. A folder with no plugin assembly.
        Directory.CreateDirectory(Folder("Empty"));
        File.WriteAllText(Path.Combine(Folder("Empty"), "readme.txt"), "not a plugin");

        // 2. A plugin built against contract 2.x (an AttnEval.Abstractions of another major version).
        var v2 = PluginCompiler.Compile("AttnEval.Abstractions",
            "namespace AttnEval.Abstractions; public interface IAttnEvalPlugin { string Name { get; } }",
            Path.Combine(_dir, "..", Path.GetFileName(_dir) + "-v2", "AttnEval.Abstractions.dll"), "2.0.0.0");
        PluginCompiler.Compile("FuturePlugin",
            "namespace Future; public sealed class P : AttnEval.Abstractions.IAttnEvalPlugin { public string Name => \"future\"; }",
            Dll("FuturePlugin"), "1.0.0.0", v2);

        // 3. A plugin whose types need an assembly that is missing from its folder.
        var dep = PluginCompiler.Compile("MissingDependency", "namespace Dep; public class Base { }",
            Path.Combine(_dir, "..", Path.GetFileName(_dir) + "-dep", "MissingDependency.dll"));
        PluginCompiler.Compile("BrokenPlugin", """
            using AttnEval.Abstractions;
            using Microsoft.Extensions.DependencyInjection;
            namespace Broken;
            public sealed class P : Dep.Base, IAttnEvalPlugin { public string Name => "broken"; public void ConfigureServices(IServiceCollection s) { } }
            """, Dll("BrokenPlugin"), "1.0.0.0", dep, PluginCompiler.Contract, PluginCompiler.DependencyInjection);

        // 4. A plugin whose registration throws.
        PluginCompiler.Compile("ThrowingPlugin", """
            using AttnEval.Abstractions;
            using Microsoft.Extensions.DependencyInjection;
            namespace Throwing;
            public sealed class P : IAttnEvalPlugin { public string Name => "throwing"; public void ConfigureServices(IServiceCollection s) => throw new System.InvalidOperationException("no licence file"); }
            """, Dll("ThrowingPlugin"), "1.0.0.0", PluginCompiler.Contract, PluginCompiler.DependencyInjection);

        using var host = new PluginHost().LoadFrom([_dir]);

        host.Plugins.Select(p => p.Name).Should().Equal("good");
        host.Catalog.Metrics.Should().ContainKey("answer-length");
        var errors = host.Errors.ToDictionary(e => Path.GetFileName(e.Folder), e => e.Message);
        errors.Should().HaveCount(4);
        errors["Empty"].Should().Be("no plugin in this folder: expected Empty.dll (a plugin folder holds <Name>/<Name>.dll)");
        errors["FuturePlugin"].Should().Be($"FuturePlugin.dll was built against AttnEval.Abstractions 2.x but this host provides {ContractVersion.Major}.x; rebuild the plugin against contract {ContractVersion.Major}.x");
        errors["BrokenPlugin"].Should().StartWith("a type in BrokenPlugin.dll failed to load:").And.Contain("MissingDependency");
        errors["ThrowingPlugin"].Should().Be("plugin Throwing.P failed to register: InvalidOperationException: no licence file");
    }

    [Fact]
    public void A_plugin_built_against_a_newer_contract_minor_is_refused_naming_both_versions()
    {
        CompileGood();
        var host = typeof(IAttnEvalPlugin).Assembly.GetName().Version!;
        var newer = $"{host.Major}.{host.Minor + 1}";
        // A contract one minor version ahead of the host's: the same interface plus something new.
        var contractDir = Path.Combine(_dir, "..", Path.GetFileName(_dir) + "-newer");
        var newerContract = PluginCompiler.Compile("AttnEval.Abstractions", """
            using Microsoft.Extensions.DependencyInjection;
            namespace AttnEval.Abstractions;
            public interface IAttnEvalPlugin { string Name { get; } void ConfigureServices(IServiceCollection services); }
            public interface INewInThisMinor { }
            """, Path.Combine(contractDir, "AttnEval.Abstractions.dll"), $"{newer}.0.0", PluginCompiler.DependencyInjection);
        const string source = """
            using AttnEval.Abstractions;
            using Microsoft.Extensions.DependencyInjection;
            namespace Newer;
            public sealed class P : IAttnEvalPlugin, INewInThisMinor { public string Name => "newer"; public void ConfigureServices(IServiceCollection s) { } }
            """;
        // 1. Built with Private=false, as the docs say: the folder has no contract copy.
        PluginCompiler.Compile("NewerPlugin", source, Dll("NewerPlugin"), "1.0.0.0", newerContract, PluginCompiler.DependencyInjection);
        // 2. The same plugin carrying its own copy of the newer contract.
        PluginCompiler.Compile("NewerCopyPlugin", source, Dll("NewerCopyPlugin"), "1.0.0.0", newerContract, PluginCompiler.DependencyInjection);
        File.Copy(Path.Combine(contractDir, "AttnEval.Abstractions.dll"), Path.Combine(Folder("NewerCopyPlugin"), "AttnEval.Abstractions.dll"));

        using var plugins = new PluginHost().LoadFrom([_dir]);

        plugins.Plugins.Select(p => p.Name).Should().Equal("good");
        var errors = plugins.Errors.ToDictionary(e => Path.GetFileName(e.Folder), e => e.Message);
        var expected = $"was built against AttnEval.Abstractions {newer}, host has {host.Major}.{host.Minor}: run it with an AttnEval whose contract is {newer} or later, or rebuild it against {host.Major}.{host.Minor}";
        errors.Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["NewerPlugin"] = "NewerPlugin.dll " + expected,
            ["NewerCopyPlugin"] = "NewerCopyPlugin.dll " + expected,
        });
    }

    [Fact]
    public void A_second_export_with_the_same_name_is_refused_and_the_first_kept()
    {
        CompileGood("AGood");
        CompileGood("BGood");
        using var host = new PluginHost().LoadFrom([_dir]);
        host.Errors.Should().ContainSingle().Which.Message.Should().Be("good: sample-estimator 'answer-length' is already provided by good; ignored");
        host.Catalog.Metrics.Should().ContainKey("answer-length");
    }

    public void Dispose()
    {
        foreach (var d in new[] { _dir, _dir + "-v2", _dir + "-dep", _dir + "-newer" })
            try { Directory.Delete(d, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
