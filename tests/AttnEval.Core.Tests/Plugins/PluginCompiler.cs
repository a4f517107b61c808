using AttnEval.Abstractions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Core.Tests.Plugins;

/// <summary>Compiles small C# sources into plugin folders for the plugin-host tests.</summary>
internal static class PluginCompiler
{
    private static readonly MetadataReference[] Framework =
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
        .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "netstandard.dll" or "mscorlib.dll")
        .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToArray();

    public static MetadataReference Contract { get; } = MetadataReference.CreateFromFile(typeof(IAttnEvalPlugin).Assembly.Location);
    public static MetadataReference DependencyInjection { get; } = MetadataReference.CreateFromFile(typeof(IServiceCollection).Assembly.Location);

    /// <summary>Compiles <paramref name="source"/> into <paramref name="path"/>; returns a reference to it.</summary>
    public static MetadataReference Compile(string assemblyName, string source, string path, string version = "1.0.0.0", params MetadataReference[] references)
    {
        var trees = new[]
        {
            CSharpSyntaxTree.ParseText(source),
            CSharpSyntaxTree.ParseText($"[assembly: System.Reflection.AssemblyVersion(\"{version}\")]"),
        };
        var compilation = CSharpCompilation.Create(assemblyName, trees, [.. Framework, .. references],
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var result = compilation.Emit(path);
        if (!result.Success)
            throw new InvalidOperationException(string.Join("\n", result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        return MetadataReference.CreateFromFile(path);
    }
}
