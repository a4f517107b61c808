namespace AttnEval.Core.Prompts.ChatTemplates;

/// <summary>A chat template that cannot be parsed or rendered: the message names the construct and its position in
/// the template (1-based line and column), e.g. <c>chat_template 3:14: the 'macro' tag is not supported</c>.</summary>
public sealed class ChatTemplateException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong, with the template position.</param>
    /// <param name="line">1-based line in the template (0 when unknown).</param>
    /// <param name="column">1-based column in the template (0 when unknown).</param>
    public ChatTemplateException(string message, int line = 0, int column = 0) : base(message)
    {
        Line = line;
        Column = column;
    }

    /// <summary>1-based line in the template (0 when unknown).</summary>
    public int Line { get; }

    /// <summary>1-based column in the template (0 when unknown).</summary>
    public int Column { get; }
}
