using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Core.Plugins;
using AttnEval.Core.Recipes;
using Spectre.Console;

namespace AttnEval.Cli;

/// <summary><c>attneval list [--json]</c> and <c>attneval describe &lt;name&gt; [--json]</c>: every installed part with its
/// description and what it adds to generation, and one part's options (type, default, range, allowed values, meaning).</summary>
internal static partial class Commands
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static IEnumerable<(PluginInfo Plugin, PluginExport Export)> Parts(PluginHost host) =>
        host.Plugins.SelectMany(p => p.Exports.OrderBy(x => x.Kind, StringComparer.Ordinal).ThenBy(x => x.Name, StringComparer.Ordinal).Select(x => (p, x)));

    /// <summary>Every export of every plugin: a table on a terminal, tab-separated lines under a header otherwise, or one
    /// JSON array with <paramref name="json"/>.</summary>
    public static int List(string[]? pluginDirs, bool json = false)
    {
        using var host = LoadHost(pluginDirs, quiet: true);
        var parts = Parts(host).ToList();
        if (json)
        {
            var array = new JsonArray(parts.Select(x => (JsonNode)new JsonObject
            {
                ["name"] = x.Export.Name, ["kind"] = x.Export.Kind, ["plugin"] = x.Plugin.Name, ["version"] = x.Plugin.Version,
                ["folder"] = x.Plugin.Folder, ["description"] = x.Export.Description, ["adds_to_generation"] = x.Export.Cost,
            }).ToArray());
            Console.WriteLine(array.ToJsonString(Indented));
        }
        else if (ConsoleObserver.Interactive)
        {
            var table = new Table().AddColumns("name", "kind", "plugin", "version", "adds to generation", "description");
            foreach (var (p, x) in parts)
                table.AddRow(Markup.Escape(x.Name), x.Kind, Markup.Escape(p.Name), Markup.Escape(p.Version), Markup.Escape(x.Cost), Markup.Escape(x.Description));
            AnsiConsole.Write(table);
            Console.WriteLine("attneval describe <name> shows a part's options; --json for scripts");
        }
        else
        {
            Console.WriteLine("name\tkind\tplugin\tversion\tfolder\tadds to generation\tdescription");
            foreach (var (p, x) in parts)
                Console.WriteLine($"{x.Name}\t{x.Kind}\t{p.Name}\t{p.Version}\t{p.Folder}\t{x.Cost}\t{x.Description}");
        }
        foreach (var e in host.Errors) Console.Error.WriteLine($"attneval: plugin {e}");
        return Cli.Ok;
    }

    /// <summary>The estimator's cost in the newest finished run under <paramref name="runsDir"/> that ran it (its
    /// <c>summary.json</c> <c>cost</c> section): run folder, seconds, questions and fraction of generation time; null when
    /// no run there has it.</summary>
    internal static JsonObject? MeasuredCost(string runsDir, string name)
    {
        if (!Directory.Exists(runsDir)) return null;
        foreach (var summary in Directory.EnumerateFiles(runsDir, "summary.json", SearchOption.AllDirectories)
                     .Select(f => new FileInfo(f)).OrderByDescending(f => f.LastWriteTimeUtc))
        {
            try
            {
                var cost = JsonNode.Parse(File.ReadAllText(summary.FullName))?["cost"];
                if (cost?["methods"]?[name] is not JsonObject m || m["fraction_of_generation"] is null) continue;
                return new JsonObject
                {
                    ["run"] = summary.DirectoryName, ["n"] = cost["n"]?.DeepClone(), ["seconds"] = m["seconds"]?.DeepClone(),
                    ["fraction_of_generation"] = m["fraction_of_generation"]!.DeepClone(),
                };
            }
            catch (Exception e) when (e is IOException or System.Text.Json.JsonException or InvalidOperationException) { }
        }
        return null;
    }

    /// <summary>One part by name (every installed part when <paramref name="name"/> is null; with
    /// <paramref name="json"/> then always one JSON array): kind, plugin, description, what it adds to generation, and
    /// every option it accepts. An unknown name is one error line with the nearest installed name (exit 2).</summary>
    public static int Describe(string? name, string[]? pluginDirs, bool json = false, string? runsDir = null)
    {
        using var host = LoadHost(pluginDirs, quiet: true);
        var matches = Parts(host).Where(x => name is null || x.Export.Name == name).ToList();
        if (matches.Count == 0 && name is not null)
        {
            var near = Suggest.Nearest(name, Parts(host).Select(x => x.Export.Name));
            Console.Error.WriteLine($"attneval: no installed part is named '{name}'{(near is null ? "" : $"; did you mean '{near}'?")} (attneval list shows them)");
            return Cli.BadInput;
        }
        var described = new JsonArray();
        foreach (var (plugin, export) in matches)
        {
            var options = OptionsOf(host.Catalog, export);
            var node = new JsonObject
            {
                ["name"] = export.Name, ["kind"] = export.Kind, ["plugin"] = plugin.Name, ["version"] = plugin.Version,
                ["folder"] = plugin.Folder, ["description"] = export.Description, ["adds_to_generation"] = export.Cost,
                ["options"] = new JsonArray(options.Select(o => (JsonNode)new JsonObject
                {
                    ["key"] = o.Key, ["type"] = TypeName(o.Type), ["default"] = Value(o.Default), ["required"] = o.Required,
                    ["min"] = o.Min, ["max"] = o.Max,
                    ["allowed"] = o.AllowedValues is { } a ? new JsonArray(a.Select(v => (JsonNode)JsonValue.Create(v)!).ToArray()) : null,
                    ["description"] = o.Description,
                }).ToArray()),
            };
            var measured = MeasuredCost(runsDir ?? "runs", export.Name);
            if (measured is not null) node["measured_cost"] = measured;
            described.Add(node);
            if (json) continue;
            Console.WriteLine($"{export.Name} ({export.Kind}) — plugin {plugin.Name} {plugin.Version}, {plugin.Folder}");
            if (export.Description.Length > 0) Console.WriteLine(export.Description);
            if (export.Cost.Length > 0) Console.WriteLine($"adds to generation: {export.Cost} (each run measures it: summary.json cost)");
            if (measured is not null)
                Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"measured cost: {(double)measured["fraction_of_generation"]!:0.###} of generation time ({(double)measured["seconds"]!:0.##} s for {(int)measured["n"]!} questions) in {measured["run"]}"));
            if (options.Count == 0) { Console.WriteLine("options: none"); continue; }
            Console.WriteLine("options:");
            foreach (var o in options)
            {
                var range = o.AllowedValues is { } allowed ? "one of " + string.Join(", ", allowed)
                    : o.Min is { } lo && o.Max is { } hi ? $"in [{Bound(lo)}, {Bound(hi)}]"
                    : o.Min is { } lo2 ? $"≥ {Bound(lo2)}" : o.Max is { } hi2 ? $"≤ {Bound(hi2)}" : "";
                Console.WriteLine($"  {o.Key}: {TypeName(o.Type)}, {(o.Required ? "required" : $"default {Value(o.Default)?.ToJsonString() ?? "none"}")}{(range.Length > 0 ? ", " + range : "")}");
                Console.WriteLine($"      {o.Description}");
            }
        }
        if (json) Console.WriteLine((described.Count == 1 && name is not null ? described[0]!.DeepClone() : described).ToJsonString(Indented));
        return Cli.Ok;
    }

    /// <summary>One usage error line on standard error (exit 2).</summary>
    public static int UsageError(string message)
    {
        Console.Error.WriteLine($"attneval: {message}");
        return Cli.BadInput;
    }

    /// <summary><c>attneval describe --all --markdown</c>: the recipe options reference — every installed part (in
    /// <c>attneval list</c> order) with its kind, plugin, description and a table of its options (key, type, default,
    /// range or allowed values, meaning), generated from the parts' <see cref="OptionSpec"/>s. Machine-independent: no
    /// folders, versions or measured costs, so <c>docs/options-reference.md</c> (this output for the built-in plugins)
    /// is compared with it by a test.</summary>
    public static int DescribeAllMarkdown(string[]? pluginDirs)
    {
        using var host = LoadHost(pluginDirs, quiet: true);
        Console.Write(OptionsMarkdown(host));
        foreach (var e in host.Errors) Console.Error.WriteLine($"attneval: plugin {e}");
        return Cli.Ok;
    }

    internal static string OptionsMarkdown(PluginHost host)
    {
        var md = new System.Text.StringBuilder();
        md.Append("# Recipe options reference\n\n");
        md.Append("Every option of every built-in part, as a recipe sets it under `metrics:`, `judge:` or `model:` (`options:`).\n");
        md.Append("Generated from the parts' option declarations by `attneval describe --all --markdown`; do not edit by hand —\n");
        md.Append("`AttnEval.Cli.Tests` fails when this file differs from the command's output.\n");
        foreach (var (plugin, export) in Parts(host))
        {
            md.Append('\n').Append("## ").Append(export.Name).Append('\n').Append('\n');
            md.Append('*').Append(export.Kind).Append(", plugin ").Append(plugin.Name).Append("*\n");
            if (export.Description.Length > 0) md.Append('\n').Append(Cell(export.Description)).Append('\n');
            if (export.Cost.Length > 0) md.Append("\nAdds to generation: ").Append(Cell(export.Cost)).Append('\n');
            var options = OptionsOf(host.Catalog, export);
            if (options.Count == 0) { md.Append("\nOptions: none.\n"); continue; }
            md.Append("\n| option | type | default | range | meaning |\n|---|---|---|---|---|\n");
            foreach (var o in options)
            {
                var range = o.AllowedValues is { } allowed ? "one of " + string.Join(", ", allowed.Select(a => $"`{a}`"))
                    : o.Min is { } lo && o.Max is { } hi ? $"[{Bound(lo)}, {Bound(hi)}]"
                    : o.Min is { } lo2 ? $"≥ {Bound(lo2)}" : o.Max is { } hi2 ? $"≤ {Bound(hi2)}" : "";
                var dflt = o.Required ? "required" : Value(o.Default)?.ToJsonString(Compact) is { } d ? $"`{d}`" : "none";
                md.Append("| `").Append(o.Key).Append("` | ").Append(TypeName(o.Type)).Append(" | ").Append(Cell(dflt)).Append(" | ")
                  .Append(Cell(range)).Append(" | ").Append(Cell(o.Description)).Append(" |\n");
            }
        }
        return md.ToString();

        static string Cell(string text) => text.Replace("\r", "", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal);
    }

    private static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static IReadOnlyList<OptionSpec> OptionsOf(IComponentCatalog catalog, PluginExport export) => export.Kind switch
    {
        "backend" => catalog.Backends.TryGetValue(export.Name, out var b) ? b.Options : [],
        "judge" => catalog.Judges.TryGetValue(export.Name, out var j) ? j.Options : [],
        "similarity" => [],
        "recipe-kind" => catalog.Kinds.TryGetValue(export.Name, out var k) ? k.AnalysisOptions ?? [] : [],
        _ => catalog.Metrics.TryGetValue(export.Name, out var m) ? m.Options : [],
    };

    private static string TypeName(OptionType t) => t switch
    {
        OptionType.Integer => "integer", OptionType.Number => "number", OptionType.Boolean => "boolean", OptionType.String => "string",
        OptionType.StringList => "list of strings", OptionType.IntegerList => "list of integers", OptionType.NumberList => "list of numbers",
        OptionType.FilePath => "file path", OptionType.FolderPath => "folder path", _ => t.ToString(),
    };

    private static string Bound(double x) => x.ToString("R", CultureInfo.InvariantCulture);

    private static JsonNode? Value(object? v) => v switch
    {
        null => null,
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        double d => JsonValue.Create(d),
        System.Collections.IEnumerable e => new JsonArray(e.Cast<object?>().Select(Value).ToArray()),
        _ => JsonValue.Create(Convert.ToString(v, CultureInfo.InvariantCulture)),
    };
}
