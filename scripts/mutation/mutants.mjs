// Mutant generation: parses one TypeScript source with the compiler API (syntax only, no type
// checker) and lists small, plausible bugs as text edits. Each mutant has a stable id (enclosing
// function + mutation + ordinal) so results and "equivalent" verdicts survive edits elsewhere.
import ts from "typescript";

const RELATIONAL = { "<": "<=", "<=": "<", ">": ">=", ">=": ">" };
const EQUALITY = { "===": "!==", "!==": "===", "==": "!=", "!=": "==" };
const LOGICAL = { "&&": "||", "||": "&&", "??": "&&" };
const ARITHMETIC = { "+": "-", "-": "+", "*": "/", "/": "*", "%": "*" };
const UPDATE = { "++": "--", "--": "++" };
const COMPOUND = { "+=": "-=", "-=": "+=" };

/** A binary `??`, `&&` or `||` (a ParenthesizedExpression around it is another node). */
function isLogicalChain(n) {
  if (n === undefined || !ts.isBinaryExpression(n)) return false;
  const k = n.operatorToken.kind;
  return (
    k === ts.SyntaxKind.QuestionQuestionToken ||
    k === ts.SyntaxKind.AmpersandAmpersandToken ||
    k === ts.SyntaxKind.BarBarToken
  );
}

/** Calls whose removal only changes logging: not worth a mutant. */
const NOISE_CALL = /^(console\.|debug\(|log\()/;

/** The innermost named function around `node`, as `Class.method`, `fn` or `<module>`. */
function enclosingName(node) {
  const parts = [];
  for (let n = node.parent; n; n = n.parent) {
    let name;
    if (ts.isFunctionDeclaration(n) || ts.isClassDeclaration(n) || ts.isClassExpression(n))
      name = n.name?.text;
    else if (
      ts.isMethodDeclaration(n) ||
      ts.isGetAccessor(n) ||
      ts.isSetAccessor(n) ||
      ts.isPropertyDeclaration(n)
    ) {
      name = n.name && ts.isIdentifier(n.name) ? n.name.text : n.name?.getText();
    } else if (ts.isConstructorDeclaration(n)) name = "constructor";
    else if (
      ts.isVariableDeclaration(n) &&
      ts.isIdentifier(n.name) &&
      n.initializer &&
      isFunctionLike(n.initializer)
    ) {
      name = n.name.text;
    } else if (ts.isPropertyAssignment(n) && isFunctionLike(n.initializer)) name = n.name.getText();
    if (name) parts.unshift(name);
  }
  return parts.length === 0 ? "<module>" : parts.join(".");
}

function isFunctionLike(n) {
  return ts.isArrowFunction(n) || ts.isFunctionExpression(n);
}

/** True when `node` is type-level syntax, a declaration without code, or an error message. */
function skipped(node) {
  for (let n = node; n; n = n.parent) {
    if (ts.isTypeNode(n) || ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n)) return true;
    if (ts.isImportDeclaration(n) || ts.isExportDeclaration(n) || ts.isThrowStatement(n)) return true;
    if (ts.canHaveModifiers(n) && ts.getModifiers(n)?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword))
      return true;
  }
  return false;
}

function isStringy(n) {
  return ts.isStringLiteral(n) || ts.isTemplateExpression(n) || ts.isNoSubstitutionTemplateLiteral(n);
}

/**
 * All mutants of one file: `{ id, mutator, start, end, replacement, original, line, col, at }`,
 * where [start, end) is the replaced text and `at` the offset whose coverage decides which tests run.
 */
export function generateMutants(fileName, text) {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out = [];
  const add = (node, mutator, start, end, replacement, at = node.getStart(sf)) => {
    if (skipped(node)) return;
    out.push({ node, mutator, start, end, replacement, at });
  };
  const visit = (node) => {
    if (ts.isBinaryExpression(node)) binary(node);
    else if (ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) unary(node);
    else if (node.kind === ts.SyntaxKind.TrueKeyword || node.kind === ts.SyntaxKind.FalseKeyword) {
      const v = node.kind === ts.SyntaxKind.TrueKeyword;
      add(node, "BooleanLiteral", node.getStart(sf), node.end, String(!v));
    } else if (ts.isIfStatement(node) || ts.isConditionalExpression(node)) {
      const c = ts.isIfStatement(node) ? node.expression : node.condition;
      if (!isBooleanLiteral(c)) {
        add(c, "ConditionalExpression", c.getStart(sf), c.end, "true");
        add(c, "ConditionalExpression", c.getStart(sf), c.end, "false");
      }
    } else if (ts.isWhileStatement(node) || ts.isDoStatement(node) || ts.isForStatement(node)) {
      const c = ts.isForStatement(node) ? node.condition : node.expression;
      if (c && !isBooleanLiteral(c)) add(c, "ConditionalExpression", c.getStart(sf), c.end, "false");
    } else if (ts.isExpressionStatement(node)) statement(node);
    else if (
      (ts.isFunctionDeclaration(node) ||
        ts.isMethodDeclaration(node) ||
        ts.isArrowFunction(node) ||
        ts.isFunctionExpression(node) ||
        ts.isGetAccessor(node) ||
        ts.isSetAccessor(node)) &&
      node.body &&
      ts.isBlock(node.body) &&
      node.body.statements.length > 0
    ) {
      add(
        node.body,
        "BlockStatement",
        node.body.getStart(sf),
        node.body.end,
        "{}",
        node.body.getStart(sf) + 1,
      );
    }
    ts.forEachChild(node, visit);
  };
  const binary = (node) => {
    const op = node.operatorToken.getText(sf);
    const opStart = node.operatorToken.getStart(sf);
    const opEnd = node.operatorToken.end;
    if (op in RELATIONAL) add(node, "EqualityOperator", opStart, opEnd, RELATIONAL[op]);
    else if (op in EQUALITY) add(node, "EqualityOperator", opStart, opEnd, EQUALITY[op]);
    else if (op in LOGICAL) {
      // `a ?? b ?? c` → `a && b ?? c` does not parse (?? cannot mix with && or || unparenthesised).
      if (op === "??" && [node.left, node.right, node.parent].some(isLogicalChain)) return;
      add(node, "LogicalOperator", opStart, opEnd, LOGICAL[op]);
    }
    else if (op in ARITHMETIC) {
      if (op === "+" && (isStringy(node.left) || isStringy(node.right))) return;
      add(node, "ArithmeticOperator", opStart, opEnd, ARITHMETIC[op]);
      // the boundary: `x - 1` / `x + 1` losing its one
      if ((op === "+" || op === "-") && ts.isNumericLiteral(node.right) && node.right.text === "1") {
        add(node, "BoundaryOffset", node.getStart(sf), node.end, node.left.getText(sf));
      }
    } else if (op in COMPOUND) add(node, "AssignmentOperator", opStart, opEnd, COMPOUND[op]);
  };
  const unary = (node) => {
    const op = ts.tokenToString(node.operator);
    if (ts.isPrefixUnaryExpression(node) && op === "!") {
      add(node, "BooleanLiteral", node.getStart(sf), node.end, node.operand.getText(sf));
    } else if (op in UPDATE) {
      const start = ts.isPrefixUnaryExpression(node) ? node.getStart(sf) : node.end - 2;
      add(node, "UpdateOperator", start, start + 2, UPDATE[op]);
    }
  };
  const statement = (node) => {
    let e = node.expression;
    if (ts.isAwaitExpression(e) || ts.isVoidExpression(e)) e = e.expression;
    if (!ts.isCallExpression(e) || e.expression.kind === ts.SyntaxKind.SuperKeyword) return;
    if (NOISE_CALL.test(e.expression.getText(sf))) return;
    add(node, "CallStatement", node.getStart(sf), node.end, ";");
  };
  visit(sf);
  return withIds(sf, text, out);
}

function isBooleanLiteral(n) {
  return n.kind === ts.SyntaxKind.TrueKeyword || n.kind === ts.SyntaxKind.FalseKeyword;
}

function withIds(sf, text, raw) {
  raw.sort((a, b) => a.start - b.start || a.end - b.end || (a.replacement < b.replacement ? -1 : 1));
  const seen = new Map();
  return raw.map((m) => {
    const original = text.slice(m.start, m.end);
    const fn = enclosingName(m.node);
    const base = `${fn}|${m.mutator}|${short(original)}→${short(m.replacement)}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    const { line, character } = sf.getLineAndCharacterOfPosition(m.start);
    return {
      id: n === 1 ? base : `${base}|${n}`,
      mutator: m.mutator,
      start: m.start,
      end: m.end,
      at: m.at,
      replacement: m.replacement,
      original,
      line: line + 1,
      col: character + 1,
    };
  });
}

/** One line, at most 60 characters: for ids and reports. */
export function short(s) {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > 60 ? `${one.slice(0, 57)}...` : one;
}

/** The text of the file with the mutant applied. */
export function applyMutant(text, m) {
  return text.slice(0, m.start) + m.replacement + text.slice(m.end);
}
