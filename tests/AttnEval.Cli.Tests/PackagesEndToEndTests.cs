using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using AttnEval.TestSupport;

namespace AttnEval.Cli.Tests;

/// <summary>
/// The packages as a user outside the repository gets them (README "Install as a tool", "Write a plugin"): packed into a
/// temporary local feed, the tool installed from it into a temporary tool path, the quickstart run with it, plugins
/// created with <c>dotnet new</c> from the template package, built against the contract package and run by the tool —
/// every step in a temporary folder outside the repository tree, with its own NuGet package folder (the user's is read
/// as an offline source for the packages the repository already restored, never written) and its own template hive.
/// </summary>
[Collection("attneval processes")]
public sealed class PackagesEndToEndTests
{
    private static readonly TimeSpan StepLimit = TimeSpan.FromMinutes(4);

    [SkippableFact]
    public void Packed_tool_runs_the_quickstart_and_a_plugin_made_from_the_template_outside_the_repository()
    {
        var dotnet = FindOnPath("dotnet");
        Skip.If(dotnet is null, "dotnet is not on PATH: this test packs, installs and builds with the dotnet CLI");

        var root = Path.Combine(Path.GetTempPath(), "attneval-packages-" + Guid.NewGuid().ToString("N")[..10]);
        Path.GetFullPath(root).Should().NotStartWith(SharedData.RepoRoot, "every step runs outside the repository tree");
        var (feed, tools, hive, work) = (Path.Combine(root, "feed"), Path.Combine(root, "tools"), Path.Combine(root, "hive"), Path.Combine(root, "work"));
        Directory.CreateDirectory(work);
        var env = new Dictionary<string, string?>
        {
            ["NUGET_PACKAGES"] = Path.Combine(root, "nuget-packages"),
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["ATTNEVAL_PLUGINS"] = null,
            ["CI"] = "true", // plain progress lines from the tool
        };
        try
        {
            // 1. The four packages, from what this test run built (the test project references each packed project).
            var cfg = AttnEvalProcess.Configuration;
            Run(dotnet!, SharedData.RepoRoot, env, "pack", "src/AttnEval.Abstractions/AttnEval.Abstractions.csproj", "-c", cfg, "--no-build", "-o", feed);
            Run(dotnet!, SharedData.RepoRoot, env, "pack", "src/AttnEval.Plugins.Sdk/AttnEval.Plugins.Sdk.csproj", "-c", cfg, "--no-build", "-o", feed);
            Run(dotnet!, SharedData.RepoRoot, env, "pack", "templates/AttnEval.Templates.csproj", "-c", cfg, "--no-build", "-o", feed);
            Run(dotnet!, SharedData.RepoRoot, env, "pack", "src/AttnEval.Cli/AttnEval.Cli.csproj", "-c", cfg, "--no-build", "-o", feed,
                $"-p:PublishDir={Path.Combine(root, "publish")}/");
            var packages = Directory.GetFiles(feed, "*.nupkg").ToDictionary(p => Nuspec(p).Element("id")!.Value, p => p);
            packages.Keys.Should().BeEquivalentTo(["AttnEval.Abstractions", "AttnEval.Plugins.Sdk", "AttnEval.Templates", "attneval"]);
            foreach (var (id, path) in packages)
            {
                var meta = Nuspec(path);
                meta.Element("license")!.Value.Should().Be("MIT", id);
                meta.Element("readme")!.Value.Should().Be("README.md", id);
                meta.Element("icon")!.Value.Should().Be("icon.png", id);
                meta.Element("description")!.Value.Should().NotBeNullOrWhiteSpace(id);
                using var zip = ZipFile.OpenRead(path);
                zip.GetEntry("README.md").Should().NotBeNull(id);
                zip.GetEntry("icon.png")!.Length.Should().BeGreaterThan(0, id);
            }
            Nuspec(packages["AttnEval.Abstractions"]).Element("version")!.Value
                .Should().Be(typeof(AttnEval.Abstractions.IAttnEvalPlugin).Assembly.GetName().Version!.ToString(3), "the contract package carries the contract version");
            using (var tool = ZipFile.OpenRead(packages["attneval"]))
            {
                var entries = tool.Entries.Select(e => e.FullName).ToList();
                entries.Should().Contain(["tools/net10.0/any/attneval.dll", "tools/net10.0/any/DotnetToolSettings.xml",
                    "tools/net10.0/any/plugins/AttnEval.Backends.TorchSharp/AttnEval.Backends.TorchSharp.dll",
                    "tools/net10.0/any/plugins/AttnEval.Metrics.Uqac/AttnEval.Metrics.Uqac.dll"]);
                entries.Should().NotContain(e => e.Contains("/runtimes/win-") || e.Contains("/runtimes/osx"), "only linux-x64 native libraries travel");
                var libTorchSharp = tool.GetEntry("tools/net10.0/any/plugins/AttnEval.Backends.TorchSharp/libLibTorchSharp.so")!;
                using var ms = new MemoryStream();
                using (var s = libTorchSharp.Open()) s.CopyTo(ms);
                GlibcxxNeedIsWeak(ms.ToArray()).Should().BeTrue("the packed libLibTorchSharp.so loads where libstdc++ stops at GLIBCXX_3.4.30");
            }

            // 2. An offline NuGet configuration for the work folder: the test feed and, read-only, the packages the repository restored.
            var userPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } np ? np
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            File.WriteAllText(Path.Combine(work, "nuget.config"), new XDocument(new XElement("configuration", new XElement("packageSources",
                new XElement("clear"),
                new XElement("add", new XAttribute("key", "attneval-test-feed"), new XAttribute("value", feed)),
                new XElement("add", new XAttribute("key", "restored-packages"), new XAttribute("value", userPackages))))).ToString());

            // 3. The tool, installed from the feed; its plugins come from its own package.
            Run(dotnet!, work, env, "tool", "install", "attneval", "--tool-path", tools, "--add-source", feed);
            var attneval = Path.Combine(tools, "attneval");
            var list = JsonNode.Parse(Run(attneval, work, env, "list", "--json"))!.AsArray();
            var torch = list.Single(p => (string?)p!["name"] == "torchsharp")!;
            Path.GetFullPath((string)torch["folder"]!).Should().StartWith(Path.Combine(tools, ".store"), "the built-in plugins are found beside the installed host");

            // 4. The quickstart, with the recipe and the lab model copied out of the repository.
            CopyDir(Path.Combine(SharedData.RepoRoot, "samples", "models", "attneval-lab"), Path.Combine(work, "samples", "models", "attneval-lab"));
            Directory.CreateDirectory(Path.Combine(work, "recipes"));
            File.Copy(Path.Combine(SharedData.RepoRoot, "recipes", "quickstart.yaml"), Path.Combine(work, "recipes", "quickstart.yaml"));
            var stdout = Run(attneval, work, env, "run", "recipes/quickstart.yaml", "--limit", "5");
            stdout.Should().Contain("quickstart: 5 samples");
            var quickstart = Summary(work, "quickstart-");
            ((int)quickstart["n_samples"]!).Should().Be(5);
            ((int)quickstart["n_errors"]!).Should().Be(0);
            quickstart["methods"]!.AsObject().Select(m => m.Key).Should().HaveCount(24).And.Contain(["msp", "uqac", "rauq", "sar", "semantic-entropy"]);

            // 5. A metric plugin from the template, built against the contract package.
            Run(dotnet!, work, env, "new", "install", packages["AttnEval.Templates"], "--debug:custom-hive", hive);
            Run(dotnet!, work, env, "new", "attneval-metric", "-n", "LowProbability", "--metric", "low-probability", "-o", "LowProbability", "--debug:custom-hive", hive);
            Run(dotnet!, Path.Combine(work, "LowProbability"), env, "build", "--disable-build-servers", "-nologo", "-v", "q");
            var plugin = Path.Combine(work, "LowProbability", "bin", "plugins", "LowProbability");
            File.Exists(Path.Combine(plugin, "LowProbability.dll")).Should().BeTrue();
            File.Exists(Path.Combine(plugin, "AttnEval.Abstractions.dll")).Should().BeFalse("the host provides the contract");

            // 6. A recipe that names it, run by the tool with the plugin's folder added to the built-in ones.
            File.WriteAllText(Path.Combine(work, "low-probability.yaml"),
                "include: recipes/quickstart.yaml\nname: with-low-probability\nmetrics: [msp, { name: low-probability, threshold: 0.9 }]\n");
            Run(attneval, work, env, "run", "low-probability.yaml", "--limit", "5", "--add-plugins", Path.Combine("LowProbability", "bin", "plugins"));
            var withPlugin = Summary(work, "with-low-probability-");
            ((int)withPlugin["methods"]!["low-probability"]!["n"]!).Should().Be(5);
            ((double)withPlugin["methods"]!["low-probability"]!["options"]!["threshold"]!).Should().Be(0.9);
            var records = File.ReadAllLines(Path.Combine(RunDir(work, "with-low-probability-"), "samples.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
            records.Should().HaveCount(5);
            foreach (var r in records)
            {
                var u = (double)r["metrics"]!["low-probability"]!["uncertainty"]!;
                u.Should().BeInRange(0, 1, "a share of the answer's tokens");
                ((double)r["metrics"]!["low-probability"]!["confidence"]!).Should().BeApproximately(1 - u, 1e-12);
            }

            // 7. A backend plugin from the other template: it builds, loads, and answers a recipe as model.backend.
            Run(dotnet!, work, env, "new", "attneval-backend", "-n", "CharBigram", "--backend", "char-bigram", "-o", "CharBigram", "--debug:custom-hive", hive);
            Run(dotnet!, Path.Combine(work, "CharBigram"), env, "build", "--disable-build-servers", "-nologo", "-v", "q");
            var backends = Path.Combine("CharBigram", "bin", "plugins");
            JsonNode.Parse(Run(attneval, work, env, "list", "--json", "--add-plugins", backends))!.AsArray()
                .Should().Contain(p => (string?)p!["name"] == "char-bigram" && (string?)p["kind"] == "backend");
            File.WriteAllLines(Path.Combine(work, "corpus.txt"), ["Question: What is 2 + 3?", "Answer: 5", "#### 5"]);
            Run(attneval, work, env, "run", "recipes/quickstart.yaml", "--limit", "3", "--add-plugins", backends, "--set", "name=bigram",
                "--set", "model.backend=char-bigram", "--set", "model.path=corpus.txt", "--set", "metrics=[msp, perplexity]");
            ((int)Summary(work, "bigram-")["n_samples"]!).Should().Be(3);
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Runs a command to its end within <see cref="StepLimit"/>; asserts exit code 0 and returns its standard output.</summary>
    private static string Run(string file, string workDir, IReadOnlyDictionary<string, string?> env, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env)
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(StepLimit))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {StepLimit.TotalMinutes} minutes");
        }
        var (o, e) = (stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
        p.ExitCode.Should().Be(0, $"{Path.GetFileName(file)} {string.Join(' ', args)} failed:\n{o}\n{e}");
        return o;
    }

    private static XElement Nuspec(string nupkg)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/'));
        using var s = entry.Open();
        var doc = XDocument.Load(s);
        var metadata = doc.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        // Strip the nuspec namespace so that elements can be read by their plain names.
        return new XElement("metadata", metadata.Elements().Select(e => new XElement(e.Name.LocalName, e.Value)));
    }

    private static string RunDir(string work, string prefix) =>
        Directory.GetDirectories(Path.Combine(work, "runs")).Single(d => Path.GetFileName(d).StartsWith(prefix, StringComparison.Ordinal));

    private static JsonNode Summary(string work, string prefix) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(RunDir(work, prefix), "summary.json")))!;

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, OperatingSystem.IsWindows() ? name + ".exe" : name)).FirstOrDefault(File.Exists);

    private static void CopyDir(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) CopyDir(d, Path.Combine(to, Path.GetFileName(d)));
    }

    /// <summary>True when the ELF file's version need <c>GLIBCXX_3.4.32</c> (in <c>.gnu.version_r</c>) has the
    /// <c>VER_FLG_WEAK</c> bit, as readelf -V shows it.</summary>
    private static bool GlibcxxNeedIsWeak(byte[] b)
    {
        long shoff = BitConverter.ToInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A), shnum = BitConverter.ToUInt16(b, 0x3C);
        for (int s = 0; s < shnum; s++)
        {
            long sh = shoff + (long)s * shentsize;
            if (BitConverter.ToUInt32(b, (int)sh + 4) != 0x6ffffffe) continue; // SHT_GNU_verneed
            long vn = BitConverter.ToInt64(b, (int)sh + 0x18);
            int link = (int)BitConverter.ToUInt32(b, (int)sh + 0x28), count = (int)BitConverter.ToUInt32(b, (int)sh + 0x2C);
            long strings = BitConverter.ToInt64(b, (int)(shoff + (long)link * shentsize) + 0x18);
            for (int i = 0; i < count; i++, vn += BitConverter.ToUInt32(b, (int)vn + 12))
            {
                long aux = vn + BitConverter.ToUInt32(b, (int)vn + 8);
                for (int j = 0; j < BitConverter.ToUInt16(b, (int)vn + 2); j++, aux += BitConverter.ToUInt32(b, (int)aux + 12))
                {
                    int name = (int)(strings + BitConverter.ToUInt32(b, (int)aux + 8)), end = Array.IndexOf(b, (byte)0, name);
                    if (System.Text.Encoding.ASCII.GetString(b, name, end - name) == "GLIBCXX_3.4.32")
                        return (BitConverter.ToUInt16(b, (int)aux + 4) & 0x2) != 0;
                }
            }
        }
        return false;
    }
}
