using System.Globalization;
using System.Text;

namespace AttnEval.Core.Prompts.ChatTemplates;

internal enum TokenKind { Text, OutputStart, BlockStart, TagEnd, Name, String, Number, Operator, End }

internal readonly record struct JinjaToken(TokenKind Kind, string Value, int Line, int Column);

/// <summary>Splits a Jinja template into text and tag tokens, applying what Hugging Face's chat-template environments
/// apply: <c>trim_blocks</c> (the first newline after a block tag is removed), <c>lstrip_blocks</c> (spaces and tabs
/// before a block tag on its line are removed) and the <c>-</c> whitespace controls. Comments are dropped.</summary>
internal sealed class JinjaLexer
{
    private readonly string _src;
    private readonly List<JinjaToken> _tokens = [];
    private int _pos;

    private JinjaLexer(string src) => _src = src;

    public static List<JinjaToken> Tokenize(string template)
    {
        var lexer = new JinjaLexer(template.Replace("\r\n", "\n", StringComparison.Ordinal));
        lexer.Run();
        return lexer._tokens;
    }

    private (int Line, int Column) Position(int offset)
    {
        int line = 1, col = 1;
        for (int i = 0; i < offset && i < _src.Length; i++)
        {
            if (_src[i] == '\n') { line++; col = 1; }
            else col++;
        }
        return (line, col);
    }

    private ChatTemplateException Error(string what, int offset)
    {
        var (l, c) = Position(offset);
        return new ChatTemplateException($"chat_template {l}:{c}: {what}", l, c);
    }

    private void Run()
    {
        bool stripNextText = false, trimNextNewline = false;
        while (_pos < _src.Length)
        {
            int open = FindTagOpen(_pos);
            int textEnd = open < 0 ? _src.Length : open;
            var text = _src[_pos..textEnd];
            if (trimNextNewline && text.StartsWith('\n')) text = text[1..];
            if (stripNextText) text = text.TrimStart();
            stripNextText = trimNextNewline = false;
            if (open >= 0)
            {
                char kind = _src[open + 1];
                bool minus = open + 2 < _src.Length && _src[open + 2] == '-';
                bool plus = open + 2 < _src.Length && _src[open + 2] == '+';
                if (minus) text = text.TrimEnd();
                else if (!plus && kind is '%' or '#')
                {
                    // lstrip_blocks: only when nothing but spaces/tabs stands between the line's start and the tag.
                    var raw = _src.AsSpan(_pos, textEnd - _pos);
                    int lastNewline = raw.LastIndexOf('\n');
                    bool lineStarting = _pos == 0 || _src[_pos - 1] == '\n';
                    var tail = raw[(lastNewline + 1)..];
                    bool blank = true;
                    foreach (var ch in tail) blank &= ch is ' ' or '\t';
                    if ((lastNewline >= 0 || lineStarting) && blank) text = text[..Math.Max(0, text.Length - tail.Length)];
                }
            }
            if (text.Length > 0) _tokens.Add(new JinjaToken(TokenKind.Text, text, 0, 0));
            if (open < 0) break;

            char k = _src[open + 1];
            int inner = open + 2 + (open + 2 < _src.Length && _src[open + 2] is '-' or '+' ? 1 : 0);
            if (k == '#')
            {
                int close = _src.IndexOf("#}", inner, StringComparison.Ordinal);
                if (close < 0) throw Error("comment '{#' is never closed", open);
                stripNextText = _src[close - 1] == '-';
                trimNextNewline = !stripNextText;
                _pos = close + 2;
                continue;
            }
            var (line, col) = Position(open);
            _tokens.Add(new JinjaToken(k == '{' ? TokenKind.OutputStart : TokenKind.BlockStart, k == '{' ? "{{" : "{%", line, col));
            _pos = inner;
            string closer = k == '{' ? "}}" : "%}";
            while (true)
            {
                SkipSpaces();
                if (_pos >= _src.Length) throw Error($"tag opened here is never closed with '{closer}'", open);
                if (_src[_pos] == '-' && string.CompareOrdinal(_src, _pos + 1, closer, 0, 2) == 0)
                {
                    stripNextText = true;
                    AddTagEnd(closer);
                    _pos += 3;
                    break;
                }
                if (string.CompareOrdinal(_src, _pos, closer, 0, 2) == 0)
                {
                    trimNextNewline = k == '%';
                    AddTagEnd(closer);
                    _pos += 2;
                    break;
                }
                LexExpressionToken();
            }
        }
        _tokens.Add(new JinjaToken(TokenKind.End, "", 0, 0));
    }

    private void AddTagEnd(string closer)
    {
        var (l, c) = Position(_pos);
        _tokens.Add(new JinjaToken(TokenKind.TagEnd, closer, l, c));
    }

    private int FindTagOpen(int from)
    {
        for (int i = from; i < _src.Length - 1; i++)
            if (_src[i] == '{' && _src[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    private void SkipSpaces()
    {
        while (_pos < _src.Length && char.IsWhiteSpace(_src[_pos])) _pos++;
    }

    private static readonly string[] Operators =
        ["**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "|", ".", ",", ":", "(", ")", "[", "]", "{", "}", "=", "<", ">"];

    private void LexExpressionToken()
    {
        int start = _pos;
        var (line, col) = Position(start);
        char c = _src[_pos];
        if (char.IsLetter(c) || c == '_')
        {
            while (_pos < _src.Length && (char.IsLetterOrDigit(_src[_pos]) || _src[_pos] == '_')) _pos++;
            _tokens.Add(new JinjaToken(TokenKind.Name, _src[start.._pos], line, col));
            return;
        }
        if (char.IsDigit(c))
        {
            while (_pos < _src.Length && (char.IsDigit(_src[_pos]) || _src[_pos] == '_')) _pos++;
            if (_pos + 1 < _src.Length && _src[_pos] == '.' && char.IsDigit(_src[_pos + 1]))
            {
                _pos++;
                while (_pos < _src.Length && char.IsDigit(_src[_pos])) _pos++;
            }
            _tokens.Add(new JinjaToken(TokenKind.Number, _src[start.._pos].Replace("_", "", StringComparison.Ordinal), line, col));
            return;
        }
        if (c is '\'' or '"')
        {
            _pos++;
            var sb = new StringBuilder();
            while (true)
            {
                if (_pos >= _src.Length) throw Error("string literal is never closed", start);
                char ch = _src[_pos++];
                if (ch == c) break;
                if (ch != '\\') { sb.Append(ch); continue; }
                if (_pos >= _src.Length) throw Error("string literal ends in a backslash", start);
                char e = _src[_pos++];
                switch (e)
                {
                    case 'n': sb.Append('\n'); break;
                    case 't': sb.Append('\t'); break;
                    case 'r': sb.Append('\r'); break;
                    case '\\': sb.Append('\\'); break;
                    case '\'': sb.Append('\''); break;
                    case '"': sb.Append('"'); break;
                    case '\n': break;
                    case 'u' when _pos + 4 <= _src.Length:
                        sb.Append((char)int.Parse(_src.AsSpan(_pos, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                        _pos += 4;
                        break;
                    default: sb.Append('\\').Append(e); break;
                }
            }
            _tokens.Add(new JinjaToken(TokenKind.String, sb.ToString(), line, col));
            return;
        }
        foreach (var op in Operators)
            if (string.CompareOrdinal(_src, _pos, op, 0, op.Length) == 0)
            {
                _pos += op.Length;
                _tokens.Add(new JinjaToken(TokenKind.Operator, op, line, col));
                return;
            }
        throw Error($"unexpected character '{c}'", start);
    }
}
