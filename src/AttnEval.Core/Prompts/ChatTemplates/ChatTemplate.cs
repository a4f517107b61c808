using System.Text.Json;

namespace AttnEval.Core.Prompts.ChatTemplates;

/// <summary>A model's own chat template (the Jinja <c>chat_template</c> of its <c>tokenizer_config.json</c>, or
/// <c>chat_template.jinja</c> beside it), rendered as Hugging Face's <c>apply_chat_template</c> does: variables
/// <c>messages</c>, <c>add_generation_prompt</c>, <c>tools</c> and <c>documents</c> (none), and the special-token
/// strings of tokenizer_config.json (<c>bos_token</c>, <c>eos_token</c>, <c>unk_token</c>, <c>pad_token</c>, …);
/// <c>trim_blocks</c> and <c>lstrip_blocks</c> on. The interpreter covers the Jinja subset these templates use
/// (<see cref="JinjaParser"/>); an unsupported construct is refused with its name and position.</summary>
/// <remarks><c>strftime_now</c> is left undefined, so templates that date their system prompt take their built-in
/// default date and the prompt stays reproducible.</remarks>
public sealed class ChatTemplate
{
    private readonly IReadOnlyList<Node> _nodes;
    private readonly Dictionary<string, object?> _tokens;

    private ChatTemplate(IReadOnlyList<Node> nodes, string source, Dictionary<string, object?> tokens)
    {
        _nodes = nodes;
        Source = source;
        _tokens = tokens;
    }

    /// <summary>Where the template came from (a file, and the template name when it is one of several).</summary>
    public string Source { get; }

    /// <summary>Parses template text.</summary>
    /// <param name="template">Jinja source.</param>
    /// <param name="source">Named in error messages (e.g. the file).</param>
    /// <param name="specialTokens">Variables such as <c>bos_token</c>, as strings.</param>
    /// <exception cref="ChatTemplateException">A syntax error or an unsupported construct, with its position.</exception>
    public static ChatTemplate Parse(string template, string source = "chat_template", IReadOnlyDictionary<string, string>? specialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(template);
        IReadOnlyList<Node> nodes;
        try { nodes = JinjaParser.Parse(template); }
        catch (ChatTemplateException e) { throw new ChatTemplateException($"{source}: {e.Message}", e.Line, e.Column); }
        return new ChatTemplate(nodes, source, (specialTokens ?? new Dictionary<string, string>()).ToDictionary(kv => kv.Key, kv => (object?)kv.Value));
    }

    /// <summary>The template of a model folder: <c>chat_template.jinja</c> if present, else <c>chat_template</c> of
    /// <c>tokenizer_config.json</c> (a string, or a list of <c>{name, template}</c> from which <paramref name="name"/>,
    /// default <c>default</c>, is taken); null when the folder has none.</summary>
    /// <param name="dir">The model (or tokenizer) folder.</param>
    /// <param name="name">A named template (e.g. <c>tool_use</c>), or null for the default.</param>
    /// <exception cref="ChatTemplateException">The template does not parse, or the named template does not exist.</exception>
    public static ChatTemplate? FromModelFolder(string dir, string? name = null)
    {
        var configPath = Path.Combine(dir, "tokenizer_config.json");
        var tokens = new Dictionary<string, string>();
        JsonElement? configured = null;
        if (File.Exists(configPath))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(configPath));
            foreach (var key in new[] { "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token" })
                if (doc.RootElement.TryGetProperty(key, out var v))
                {
                    var text = v.ValueKind == JsonValueKind.String ? v.GetString()
                        : v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) ? c.GetString() : null;
                    if (text is not null) tokens[key] = text;
                }
            if (doc.RootElement.TryGetProperty("chat_template", out var t) && t.ValueKind != JsonValueKind.Null) configured = t.Clone();
        }
        var jinjaPath = Path.Combine(dir, "chat_template.jinja");
        if (File.Exists(jinjaPath) && name is null) return Parse(File.ReadAllText(jinjaPath), jinjaPath, tokens);
        if (configured is not { } tpl) return name is null ? null : throw new ChatTemplateException($"{configPath}: no chat_template, so template '{name}' does not exist");
        if (tpl.ValueKind == JsonValueKind.String)
            return name is null or "default" ? Parse(tpl.GetString()!, $"{configPath} (chat_template)", tokens)
                : throw new ChatTemplateException($"{configPath}: chat_template is a single template, so '{name}' does not exist (use the default)");
        if (tpl.ValueKind == JsonValueKind.Array)
        {
            var named = tpl.EnumerateArray()
                .Where(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("name", out _) && e.TryGetProperty("template", out _))
                .ToDictionary(e => e.GetProperty("name").GetString() ?? "", e => e.GetProperty("template").GetString() ?? "");
            var want = name ?? "default";
            return named.TryGetValue(want, out var text) ? Parse(text, $"{configPath} (chat_template '{want}')", tokens)
                : throw new ChatTemplateException($"{configPath}: chat_template has no template named '{want}' (it has {string.Join(", ", named.Keys.Select(k => $"'{k}'"))})");
        }
        throw new ChatTemplateException($"{configPath}: chat_template is {tpl.ValueKind}, expected a string or a list of {{name, template}}");
    }

    /// <summary>Renders a conversation.</summary>
    /// <param name="messages">A JSON array of message objects (<c>role</c>, <c>content</c>, and whatever else the template reads).</param>
    /// <param name="addGenerationPrompt">End with the assistant's header, where the template supports it.</param>
    /// <exception cref="ChatTemplateException">Rendering failed (a type error, <c>raise_exception</c>), with the position.</exception>
    public string Render(JsonElement messages, bool addGenerationPrompt)
    {
        if (messages.ValueKind != JsonValueKind.Array) throw new ChatTemplateException($"{Source}: messages must be a JSON array of {{role, content}} objects");
        return RenderValues(JinjaRenderer.FromJson(messages), addGenerationPrompt);
    }

    /// <summary>Renders a conversation of plain (role, content) turns.</summary>
    /// <exception cref="ChatTemplateException">Rendering failed, with the position.</exception>
    public string Render(IEnumerable<(string Role, string Content)> messages, bool addGenerationPrompt) =>
        RenderValues(messages.Select(m => (object?)new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Content }).ToList(), addGenerationPrompt);

    private string RenderValues(object? messages, bool addGenerationPrompt)
    {
        var globals = new Dictionary<string, object?>(_tokens)
        {
            ["messages"] = messages,
            ["add_generation_prompt"] = addGenerationPrompt,
            ["tools"] = null,
            ["documents"] = null,
        };
        try { return JinjaRenderer.Render(_nodes, globals); }
        catch (ChatTemplateException e) { throw new ChatTemplateException($"{Source}: {e.Message}", e.Line, e.Column); }
    }
}
