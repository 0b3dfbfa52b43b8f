import { join } from 'node:path';
import { projectRoot } from '../common/index.js';
import { Catalogue } from './catalogue.js';

describe('licence catalogue', () => {
  const catalogue = Catalogue.load(join(projectRoot(), 'catalogue'), 'https://issuer.example');

  it('ships the four required types with zh-CN and en display names', () => {
    expect(catalogue.list().map((type) => type.id)).toEqual([
      'business-licence',
      'driving-licence',
      'professional-qualification',
      'resident-identity',
    ]);
    expect(catalogue.get('driving-licence')!.display['zh-CN'].name).toBe('机动车驾驶证');
    expect(catalogue.get('business-licence')!.display['zh-CN'].name).toBe('营业执照');
    expect(catalogue.get('resident-identity')!.vct).toBe('https://issuer.example/vct/resident-identity');
  });

  it('lists every violation with its path', () => {
    const violations = catalogue.validateClaims('driving-licence', {
      family_name: '',
      birth_date: '1990-13-45',
      categories: ['Z'],
      licence_number: 'abc',
      shoe_size: 42,
    });
    expect(violations.map((violation) => violation.path).sort()).toEqual([
      'birth_date',
      'categories.0',
      'expiry_date',
      'family_name',
      'given_name',
      'licence_number',
      'shoe_size',
    ]);
  });

  it('accepts valid claims, and a disclosed subset in partial mode', () => {
    const claims = {
      family_name: '张',
      given_name: '三',
      birth_date: '1990-01-31',
      licence_number: '110101199001311234',
      categories: ['C1'],
      expiry_date: '2032-01-31',
    };
    expect(catalogue.validateClaims('driving-licence', claims)).toEqual([]);
    expect(catalogue.validateClaims('driving-licence', { categories: ['C1'] }, 'partial')).toEqual([]);
    expect(catalogue.validateClaims('driving-licence', { categories: ['C1'] })).not.toEqual([]);
  });
});
