// tokenizer.json post-processors, reduced to what encoding one text needs: the special tokens they put
// before and after the text's tokens (BOS, [CLS], [SEP], </s>…).

import { asArray, asObject, asString, type JsonObject, type JsonPath, typeField, unsupported } from './config';

export interface SpecialToken {
  readonly id: number;
  readonly content: string;
}

export interface SpecialsAround {
  readonly before: readonly SpecialToken[];
  readonly after: readonly SpecialToken[];
}

export const SUPPORTED_POST_PROCESSORS = ['TemplateProcessing', 'BertProcessing', 'RobertaProcessing', 'ByteLevel', 'Sequence'] as const;

const NONE: SpecialsAround = { before: [], after: [] };

/** `["[CLS]", 101]` of BertProcessing and RobertaProcessing. */
function tokenPair(value: unknown, where: JsonPath): SpecialToken {
  const pair = asArray(value, where);
  const [content, id] = pair;
  if (pair.length !== 2 || typeof content !== 'string' || typeof id !== 'number' || !Number.isInteger(id)) throw where.error('must be [token, id], e.g. ["[CLS]", 101]');
  return { content, id };
}

function template(config: JsonObject, where: JsonPath): SpecialsAround {
  const specials = asObject(config.special_tokens ?? {}, where.at('special_tokens'));
  const before: SpecialToken[] = [];
  const after: SpecialToken[] = [];
  let seenSequence = false;
  asArray(config.single, where.at('single')).forEach((item, i) => {
    const at = where.at('single').at(i);
    const piece = asObject(item, at);
    if ('Sequence' in piece) {
      seenSequence = true;
      return;
    }
    if (!('SpecialToken' in piece)) throw at.error('must be {"Sequence": …} or {"SpecialToken": …}');
    const name = asString(asObject(piece.SpecialToken, at.at('SpecialToken')).id, at.at('SpecialToken').at('id'));
    const special = specials[name];
    if (special === undefined) throw where.at('special_tokens').error(`has no entry for ${JSON.stringify(name)}, which the template "single" uses`);
    const entry = asObject(special, where.at('special_tokens').at(name));
    const ids = asArray(entry.ids, where.at('special_tokens').at(name).at('ids'));
    const tokens = asArray(entry.tokens, where.at('special_tokens').at(name).at('tokens'));
    if (ids.length !== tokens.length) throw where.at('special_tokens').at(name).error('must have as many ids as tokens');
    ids.forEach((id, k) => {
      if (typeof id !== 'number' || !Number.isInteger(id)) throw where.at('special_tokens').at(name).at('ids').at(k).error('must be an integer');
      (seenSequence ? after : before).push({ id, content: asString(tokens[k], where.at('special_tokens').at(name).at('tokens').at(k)) });
    });
  });
  if (!seenSequence) throw where.at('single').error('has no {"Sequence": {"id": "A"}} item');
  return { before, after };
}

/** The special tokens the post-processor described by `value` adds around one text. */
export function createPostProcessor(value: unknown, where: JsonPath): SpecialsAround {
  if (value === null || value === undefined) return NONE;
  const config = asObject(value, where);
  const type = typeField(config, where);
  switch (type) {
    case 'TemplateProcessing':
      return template(config, where);
    case 'BertProcessing':
    case 'RobertaProcessing':
      return { before: [tokenPair(config.cls, where.at('cls'))], after: [tokenPair(config.sep, where.at('sep'))] };
    case 'ByteLevel':
      // Only trims whitespace from offsets, which we keep: tokens cover their spaces.
      return NONE;
    case 'Sequence': {
      // Each processor wraps what the previous ones produced.
      let before: SpecialToken[] = [];
      let after: SpecialToken[] = [];
      asArray(config.processors, where.at('processors')).forEach((item, i) => {
        const inner = createPostProcessor(item, where.at('processors').at(i));
        before = [...inner.before, ...before];
        after = [...after, ...inner.after];
      });
      return { before, after };
    }
    default:
      throw unsupported(where, 'post-processor', type, SUPPORTED_POST_PROCESSORS);
  }
}
