using System.Reflection;
using System.Text.RegularExpressions;
using AttnEval.TestSupport;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace AttnEval.Cli.Tests;

/// <summary>Every ```csharp block of README.md (and of any other Markdown file of the repository) compiles, as written, against
/// the real assemblies.</summary>
public sealed class ReadmeSnippetTests
{
    /// <summary>What <c>dotnet new console</c> puts in scope (ImplicitUsings); anything else a snippet needs it says itself.</summary>
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    /// <summary>The framework plus every managed assembly beside the tests (the host, AttnEval.SemanticKernel, Microsoft.Extensions.AI, ...),
    /// one per name, the framework's first.</summary>
    private static IReadOnlyList<MetadataReference> References()
    {
        var framework = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var byName = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var path in framework.Concat(Directory.GetFiles(AppContext.BaseDirectory, "*.dll")))
        {
            try { byName.TryAdd(AssemblyName.GetAssemblyName(path).Name!, path); }
            catch (BadImageFormatException) { }   // native libraries
        }
        return byName.Values.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
    }

    /// <summary>The ```csharp blocks of a Markdown file with the line each starts on.</summary>
    public static IReadOnlyList<(int Line, string Code)> CSharpBlocks(string markdown)
    {
        var lines = markdown.ReplaceLineEndings("\n").Split('\n');
        var blocks = new List<(int, string)>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (!Regex.IsMatch(lines[i], @"^\s*```\s*(csharp|cs|c#)\s*$", RegexOptions.IgnoreCase)) continue;
            int start = i + 1;
            while (++i < lines.Length && !Regex.IsMatch(lines[i], @"^\s*```\s*$")) { }
            blocks.Add((start + 1, string.Join('\n', lines[start..Math.Min(i, lines.Length)])));
        }
        return blocks;
    }

    [Fact]
    public void Readme_csharp_blocks_compile_as_written()
    {
        var root = SharedData.RepoRoot;
        CSharpBlocks(File.ReadAllText(Path.Combine(root, "README.md"))).Should().NotBeEmpty("the README shows the agent pipeline in C#");
        var skip = new[] { "bin", "obj", "artifacts", "runs", ".git" };
        var markdown = Directory.EnumerateFiles(root, "*.md", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(root, f).Split(Path.DirectorySeparatorChar).Any(skip.Contains))
            .Order(StringComparer.Ordinal).ToList();
        var references = References();
        var problems = new List<string>();
        foreach (var file in markdown)
        foreach (var (line, code) in CSharpBlocks(File.ReadAllText(file)))
        {
            var where = Path.GetRelativePath(root, file);
            var compilation = CSharpCompilation.Create("Snippet" + line,
                [CSharpSyntaxTree.ParseText(code), CSharpSyntaxTree.ParseText(ImplicitUsings)],
                references, new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
            using var pe = new MemoryStream();
            var result = compilation.Emit(pe);
            problems.AddRange(result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)
                .Select(d => $"{where}:{line + d.Location.GetLineSpan().StartLinePosition.Line}: {d.Id} {d.GetMessage()}"));
        }
        problems.Should().BeEmpty();
    }

    [Fact]
    public void Blocks_are_found_with_their_line()
    {
        CSharpBlocks("text\n```csharp\nvar a = 1;\nvar b = 2;\n```\n```bash\nls\n```\n```cs\nint c;\n```").Should().Equal(
            (3, "var a = 1;\nvar b = 2;"), (10, "int c;"));
    }
}
