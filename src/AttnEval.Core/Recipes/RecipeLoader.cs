using AttnEval.Core.Plugins;

namespace AttnEval.Core.Recipes;

/// <summary>
/// Loads a recipe file (DESIGN.md §6): reads the YAML with positions, merges <c>include</c>d files, applies
/// <c>--set</c> overrides, then validates every key against the recipe schema and the component catalog
/// (metric, judge and backend names and their options) before anything heavy happens. No model is loaded and
/// no plugin code runs except the catalog's <c>Name</c>/<c>Options</c>/<c>Kind</c> properties.
/// </summary>
/// <remarks>
/// <para><b>Includes.</b> <c>include:</c> holds a path or a list of paths, relative to the folder of the file
/// that names them (absolute paths allowed). Included files are loaded (with their own includes) and merged in
/// order, later ones winning, and the including file is merged over the result: maps merge key by key, any
/// other value (scalar or list) is replaced whole. A key set to <c>null</c> (or left empty) in a later file
/// resets it to its default. A missing file or a cycle is an error at the include value. Errors inside an
/// included file name that file.</para>
/// <para><b>Overrides.</b> Each <c>--set</c> text is <c>dotted.key.path=value</c>; the value is parsed as a YAML
/// scalar or flow node (<c>5</c>, <c>cuda:0</c>, <c>[msp, perplexity]</c>, <c>{name: uqac, top_heads: 8}</c>,
/// empty = null = default). Maps along the path are created when missing; a numeric segment indexes a list
/// (<c>metrics.1.top_heads=8</c>). Overrides apply in order after includes and before validation. Problems in an
/// override, or with a value it set, are reported with file <see cref="RecipeError.CommandLine"/>, line 0, and
/// column = 1-based index of the override, the message starting with <c>--set '&lt;text&gt;':</c>.</para>
/// <para><b>Relative paths.</b> <c>model.path</c>, <c>model.tokenizer</c>, <c>dataset.path</c> and
/// <c>output.dir</c> are looked up first against the working directory and, when nothing is there, against the
/// folder of the recipe file that wrote the value (the main recipe's folder for <c>--set</c> values). Model,
/// tokenizer and dataset must exist; an output folder that exists in neither place resolves against the
/// working directory.</para>
/// <para><b>Safety.</b> The YAML is read as plain data from parser events; no type is instantiated from a tag,
/// and any tag other than the YAML core ones (<c>!!str</c>, <c>!!int</c>, ...) is an error at its position.</para>
/// </remarks>
public sealed class RecipeLoader
{
    private readonly IComponentCatalog _catalog;
    private readonly string _workingDirectory;

    /// <summary>Creates a loader.</summary>
    /// <param name="catalog">Known metrics, judges and backends, used to validate names and options.</param>
    /// <param name="workingDirectory">Folder relative paths are first resolved against; default the process's
    /// current directory.</param>
    public RecipeLoader(IComponentCatalog catalog, string? workingDirectory = null)
    {
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _workingDirectory = Path.GetFullPath(workingDirectory ?? Environment.CurrentDirectory);
    }

    /// <summary>Loads, merges, overrides and validates a recipe.</summary>
    /// <param name="path">The recipe file (relative to the working directory or absolute).</param>
    /// <param name="overrides"><c>--set</c> texts, <c>dotted.key=value</c>, applied in order; null = none.</param>
    /// <returns>The validated recipe with defaults applied and full paths.</returns>
    /// <exception cref="RecipeException">Every problem found, each with file, line and column.</exception>
    public Recipe Load(string path, IReadOnlyList<string>? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        overrides ??= [];
        var full = Path.GetFullPath(path, _workingDirectory);
        if (!File.Exists(full))
            throw new RecipeException([new RecipeError(full, 0, 0, "recipe file not found")]);
        var root = LoadMerged(full, [full], null);
        root = ApplyOverrides(root, overrides);
        return new RecipeBuilder(_catalog, _workingDirectory, full, overrides).Build(root);
    }

    private static YMap LoadMerged(string file, IReadOnlyList<string> chain, SourcePos? includedAt)
    {
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            var at = includedAt ?? new SourcePos(file, 0, 0);
            throw new RecipeException([at.Error($"cannot read '{file}': {ex.Message}")]);
        }

        var node = YamlTreeReader.Read(text, file);
        if (node is null || node is YScalar { IsNull: true })
            throw new RecipeException([new RecipeError(file, 1, 1, "the recipe is empty; expected a map of keys (name:, model:, ...)")]);
        if (node is not YMap map)
            throw new RecipeException([node.Pos.Error($"a recipe is a map of keys (name:, model:, ...), got {node.Describe()}")]);

        var include = map.Find("include");
        map = map.Without("include");
        if (include is null || include.Value is YScalar { IsNull: true }) return map;

        IReadOnlyList<YNode> items = include.Value switch
        {
            YSeq seq => seq.Items,
            _ => [include.Value],
        };
        YMap? merged = null;
        var folder = Path.GetDirectoryName(file)!;
        foreach (var item in items)
        {
            if (item is not YScalar { IsNull: false } pathNode)
                throw new RecipeException([item.Pos.Error($"include: expected a file path, got {item.Describe()}")]);
            var target = Path.GetFullPath(pathNode.Value, folder);
            if (chain.Contains(target, StringComparer.Ordinal))
            {
                var cycle = string.Join(" -> ", chain.SkipWhile(f => f != target).Append(target).Select(Path.GetFileName));
                throw new RecipeException([pathNode.Pos.Error($"include: '{pathNode.Value}' makes a cycle ({cycle})")]);
            }
            if (!File.Exists(target))
                throw new RecipeException([pathNode.Pos.Error($"include: file '{pathNode.Value}' not found (looked for {target})")]);
            var part = LoadMerged(target, [.. chain, target], pathNode.Pos);
            merged = merged is null ? part : YamlTreeOps.Merge(merged, part);
        }
        return merged is null ? map : YamlTreeOps.Merge(merged, map);
    }

    private static YMap ApplyOverrides(YMap root, IReadOnlyList<string> overrides)
    {
        var errors = new List<RecipeError>();
        for (var i = 0; i < overrides.Count; i++)
        {
            var text = overrides[i] ?? "";
            var pos = new SourcePos(RecipeError.CommandLine, 0, i + 1);
            var eq = text.IndexOf('=');
            if (eq <= 0)
            {
                errors.Add(pos.Error($"--set '{text}': expected key.path=value"));
                continue;
            }
            var key = text[..eq].Trim();
            var segments = key.Split('.');
            if (segments.Any(s => s.Length == 0 || s.Trim() != s))
            {
                errors.Add(pos.Error($"--set '{text}': '{key}' is not a dotted key path (e.g. generation.max_new_tokens)"));
                continue;
            }
            YNode value;
            try
            {
                value = YamlTreeReader.Read(text[(eq + 1)..], RecipeError.CommandLine, 0, i + 1) ?? new YScalar(pos, "", true);
            }
            catch (RecipeException ex)
            {
                errors.Add(pos.Error($"--set '{text}': {ex.Errors[0].Message}"));
                continue;
            }
            if (segments is ["include", ..])
            {
                errors.Add(pos.Error($"--set '{text}': include cannot be set from the command line"));
                continue;
            }
            var updated = YamlTreeOps.SetPath(root, segments, 0, value, pos, out var error);
            if (updated is YMap map) root = map;
            else errors.Add(pos.Error($"--set '{text}': {error}"));
        }
        if (errors.Count > 0) throw new RecipeException(errors);
        return root;
    }
}
