import { parseInt64Text, type Entity, type Project } from '../../definitions/index.js';
import { ValidationError } from '../../errors.js';

/** The type each source whose rows carry `entity`'s key gives `column`, by source name. */
function columnTypes(project: Project, entity: Entity, column: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const source of project.sources) {
    if (entity.joinKeys.every((c) => c in source.schema)) types.set(source.name, source.schema[column]!);
  }
  return types;
}

/**
 * The parts of an erasure subject's key as the stores hold them: an int64 part read by the one
 * int64 text rule (`parseInt64Text`) and written in canonical decimal (`"042"` and `"+42"` are
 * `42`), as every way in and every purge reads it; a string part as given. A part that is no
 * valid value of its column's type is refused, naming the type: erasing it would remove and
 * block nothing. The messages never quote the key (errors reach logs). When sources disagree on a column's type (int64 in one, string in another), an
 * int64 text not in canonical form names two values and is refused too.
 *
 * @example
 * subjectKeyParts(project, acct, ['+042']); // ['42']
 */
export function subjectKeyParts(project: Project, entity: Entity, parts: readonly string[]): string[] {
  return parts.map((part, i) => {
    const column = entity.joinKeys[i]!;
    const types = columnTypes(project, entity, column);
    const int64 = [...types].filter(([, type]) => type === 'int64').map(([source]) => source);
    if (int64.length === 0) return part;
    const value = parseInt64Text(part);
    const other = [...types].find(([, type]) => type !== 'int64');
    if (other === undefined) {
      if (value === undefined) {
        throw new ValidationError('VALIDATION_FAILED', `entity "${entity.name}": key column "${column}" is int64 and the part given for it is not an int64 (an optional sign and decimal digits, from -2^63 to 2^63-1, e.g. 42)`);
      }
      return value.toString();
    }
    if (value !== undefined && value.toString() !== part) {
      throw new ValidationError('VALIDATION_FAILED', `entity "${entity.name}": key column "${column}" is int64 in source "${int64[0]}" and ${other[1]} in source "${other[0]}", so the part given for it, an int64 not in canonical form (decimal digits, no sign "+", no leading zero), names two values: give it in canonical form, or make the sources agree on the column's type`);
    }
    return part;
  });
}
