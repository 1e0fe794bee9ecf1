import type { ColumnDocument, Hierarchy } from '../policy/policy-document.ts';
import {
  caseWhen,
  castTo,
  compare,
  functionCall,
  integer,
  isNull,
  NULL_CONSTANT,
  stringConstant,
  type SqlNode,
} from '../query/sql-tree.ts';

/** The value every quasi-identifier takes at its top level: suppressed to one class. */
export const TOP = '*';

/**
 * One quasi-identifier's levels as expressions over `value` (a reference to its column), finest
 * first: level 0 is the stored value as text, then each level of the owner's hierarchy, then `*`.
 * Every level is text, so an extract's column has one type whatever level is chosen; NULL stays NULL
 * below the top (one class of its own). Built as trees from the policy, never from strings.
 */
export function levelExpressions(column: ColumnDocument, hierarchy: Hierarchy, value: SqlNode): SqlNode[] {
  const asText = (node: SqlNode) => castTo(node, 'VARCHAR');
  const unlessNull = (node: SqlNode) => caseWhen(isNull(value), NULL_CONSTANT, '', node);
  const concat = (...parts: SqlNode[]) => functionCall('concat', parts);
  let levels: SqlNode[];
  if ('bands' in hierarchy) {
    // floor(v / w) * w: the band's lower bound, for negative values too; widths that multiply nest.
    levels = hierarchy.bands.map((width) => {
      const low = castTo(
        functionCall('*', [functionCall('floor', [functionCall('/', [value, integer(width)])]), integer(width)]),
        'BIGINT',
      );
      return column.type === 'DOUBLE'
        ? concat(
            stringConstant('['),
            asText(low),
            stringConstant(', '),
            asText(functionCall('+', [low, integer(width)])),
            stringConstant(')'),
          )
        : concat(asText(low), stringConstant('-'), asText(functionCall('+', [low, integer(width - 1)])));
    });
  } else if ('dateTrunc' in hierarchy) {
    levels = hierarchy.dateTrunc.map((unit) => {
      const year = asText(functionCall('year', [value]));
      if (unit === 'year') return year;
      if (unit === 'quarter') return concat(year, stringConstant('-Q'), asText(functionCall('quarter', [value])));
      return functionCall('strftime', [value, stringConstant('%Y-%m')]);
    });
  } else if ('prefix' in hierarchy) {
    levels = hierarchy.prefix.map((length) =>
      concat(functionCall('left', [asText(value), integer(length)]), stringConstant(TOP)),
    );
  } else {
    levels = hierarchy.groups.map((groups) => {
      const entries = Object.entries(groups);
      if (entries.length === 0) return stringConstant(TOP);
      return {
        class: 'CASE',
        type: 'CASE_EXPR',
        alias: '',
        query_location: -1,
        case_checks: entries.map(([stored, group]) => ({
          when_expr: compare('COMPARE_EQUAL', asText(value), stringConstant(stored)),
          then_expr: stringConstant(group),
        })),
        else_expr: stringConstant(TOP),
      };
    });
  }
  return [asText(value), ...levels.map(unlessNull), stringConstant(TOP)];
}
